// How the sidecar's memory grows with what it remembers: verified bearer tokens, verified basic
// credentials, and login sessions in the in-memory store. Each is filled for real (a running
// sidecar verifies distinct tokens and credentials; sessions are sealed and stored as a login
// stores them), then the live memory (heap and Buffers) is compared after a full collection.
//   npm run footprint

import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { hash } from '@node-rs/bcrypt';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { startSidecar } from '../src/main.ts';
import { MemoryStore } from '../src/sessions/memory-store.ts';
import { indexName, Sessions } from '../src/sessions/sessions.ts';
import { TicketSigner } from '../src/sessions/ticket.ts';

const ENTRIES = Number(process.env.FOOTPRINT_ENTRIES ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc (npm run footprint does)');

/** What is live after a full collection: the V8 heap, and the Buffers' memory outside it. */
function liveHeapMb(): number {
  gc?.();
  gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return (heapUsed + arrayBuffers) / 2 ** 20;
}

/** The growth of the live heap while `fill` runs, in MB. */
async function growth(fill: () => Promise<void>): Promise<number> {
  const before = liveHeapMb();
  await fill();
  return liveHeapMb() - before;
}

async function inBatches(count: number, each: (i: number) => Promise<void>, batch = 64): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - start) }, (_, k) => each(start + k)));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sidecar-footprint-'));
  const app = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k' }] }));
  const users = Array.from({ length: ENTRIES }, (_, i) => [`user${i}@example.com`, `password ${i}`] as const);
  // bcrypt at cost 4: the cache holds the same entry whatever the cost, and cost 10 would take minutes.
  const lines = await Promise.all(users.map(async ([user, password]) => `${user}:${await hash(password, 4)}`));
  writeFileSync(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    stringify({
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      upstream: { url: `http://127.0.0.1:${(app.address() as AddressInfo).port}` },
      jwt: { issuer: 'https://footprint.invalid', audience: 'api', keysFile: 'jwks.json' },
      basic: { htpasswdFile: 'htpasswd', cache: { maxEntries: ENTRIES } },
      logLevel: 'warn',
    }),
  );
  const sidecar = await startSidecar({
    configFile,
    logDestination: new Writable({ write: (_chunk, _encoding, done) => done() }),
  });
  const agent = new Agent({ connections: 64 });
  const get = async (authorization: string) => {
    const answer = await request(`${sidecar.url}/`, { headers: { authorization }, dispatcher: agent });
    await answer.body.dump();
    if (answer.statusCode !== 200) throw new Error(`the sidecar answered ${answer.statusCode}`);
  };
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const token = (i: number) =>
    new SignJWT({ iss: 'https://footprint.invalid', aud: 'api', sub: `user-${i}`, email: `user${i}@example.com`, exp })
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .sign(privateKey);
  await get(`Bearer ${await token(-1)}`); // the first request's one-time costs are not the cache's

  const jwt = await growth(() => inBatches(ENTRIES, async (i) => get(`Bearer ${await token(i)}`)));
  const basic = await growth(
    () =>
      inBatches(
        ENTRIES,
        async (i) => {
          const [user, password] = users[i] as readonly [string, string];
          await get(`Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`);
        },
        16,
      ), // below the checks one address may have under way (basic.lockout.addressMaxFailures)
  );
  await sidecar.shutdown();
  await agent.close();
  app.close();

  const store = new MemoryStore();
  const sessions = new Sessions(store, new TicketSigner(['a cookie secret of at least 32 bytes']));
  // What a login stores: the claims, the provider's three tokens (typical sizes), two indexes.
  const tokenOf = (bytes: number) => randomBytes((bytes * 3) / 4).toString('base64url');
  const session = await growth(() =>
    inBatches(ENTRIES, async (i) => {
      const claims = { sub: `user-${i}`, email: `user${i}@example.com`, name: `User ${i}`, groups: ['staff', 'dev'] };
      const record = {
        issuer: 'https://idp.example.com',
        claims,
        scope: 'openid profile email groups',
        idToken: tokenOf(900),
        accessToken: tokenOf(900),
        refreshToken: tokenOf(120),
        expiresAt: Date.now() + 8 * 3600_000,
      };
      await sessions.create(record, [indexName('sub', record.issuer, claims.sub), indexName('sid', `sid-${i}`)]);
    }),
  );
  await store.close();

  const rows: [string, number][] = [
    ['verified bearer tokens (jwt cache, default max 10,000)', jwt],
    ['verified basic credentials (basic.cache.maxEntries, default 10,000)', basic],
    ['login sessions in the in-memory store (session.store: memory)', session],
  ];
  console.log(`| what is remembered | MB for ${ENTRIES.toLocaleString('en')} | KB each |`);
  console.log('|---|--:|--:|');
  for (const [what, mb] of rows) {
    console.log(`| ${what} | ${mb.toFixed(1)} | ${((mb * 1024) / ENTRIES).toFixed(2)} |`);
  }
}

await main();
