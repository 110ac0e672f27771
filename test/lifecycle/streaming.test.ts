// Bodies stream both ways: half a gigabyte each way through a sidecar process whose peak
// memory is measured, so that "never sits in memory" is a fact, not a hope.
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peakRss, type ServingSidecar, serveCli } from '../support/cli.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, signToken } from '../support/keys.ts';
import { tempDir } from '../support/sidecar.ts';

const SIZE = 512 * 1024 * 1024;
/**
 * Far below SIZE: buffering a body whole would blow through it. Measured after a warm-up
 * transfer each way, since the first burst of buffers grows the heap once (by ~50 MB) and
 * later ones, of any size, do not.
 */
const MAX_GROWTH = 64 * 1024 * 1024;
const WARM_UP = 64 * 1024 * 1024;

let upstream: EchoUpstream;
let sidecar: ServingSidecar;
let authorization: string;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  const key = await createSigningKey('ES256');
  const dir = tempDir();
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
  sidecar = await serveCli(
    { upstream: { url: upstream.url }, jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: 'jwks.json' } },
    { dir },
  );
  authorization = `Bearer ${await signToken(key)}`;
  await upload(WARM_UP);
  await download(WARM_UP);
});

function upload(size: number): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024, 97);
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return new Promise<number>((resolve, reject) => {
    const req = request(
      `${sidecar.url}/upload`,
      { method: 'POST', headers: { authorization, 'content-length': size } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    pipeline(body, req).catch(reject);
  });
}

async function download(size: number): Promise<number> {
  const res = await fetch(`${sidecar.url}/download?bytes=${size}`, { headers: { authorization } });
  expect(res.status).toBe(200);
  let received = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) received += chunk.length;
  return received;
}

afterAll(async () => {
  sidecar?.kill();
  await sidecar?.exited;
  await upstream?.close();
});

describe('streaming', () => {
  it('streams a 512 MB upload through the sidecar with flat memory', async () => {
    const pid = sidecar.child.pid as number;
    const before = peakRss(pid);
    expect(await upload(SIZE)).toBe(200);
    expect(upstream.received.at(-1)?.bodyBytes).toBe(SIZE);
    expect(peakRss(pid) - before).toBeLessThan(MAX_GROWTH);
  });

  it('streams a 512 MB download through the sidecar with flat memory', async () => {
    const pid = sidecar.child.pid as number;
    const before = peakRss(pid);
    expect(await download(SIZE)).toBe(SIZE);
    expect(peakRss(pid) - before).toBeLessThan(MAX_GROWTH);
  });
});
