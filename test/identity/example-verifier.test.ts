// examples/identity-token as its README runs it: the example config (with a new key), the
// sidecar in front of verify-service.mjs, which believes only a token that verifies against
// the sidecar's own JWKS.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sidecar, startSidecar } from '../../src/main.ts';
import { track } from '../support/children.ts';
import { freePort } from '../support/free-port.ts';
import { basicAuth } from '../support/htpasswd.ts';
import { createSigningKey, writePrivateKey } from '../support/keys.ts';
import { tempDir } from '../support/sidecar.ts';

const EXAMPLE = join(import.meta.dirname, '../../examples/identity-token');

let sidecar: Sidecar;
let service: ChildProcess;
let serviceUrl: string;

/** Starts verify-service.mjs and resolves its URL once it says it listens. */
function startService(env: Record<string, string>): Promise<string> {
  service = track(spawn(process.execPath, [join(EXAMPLE, 'verify-service.mjs')], { env: { ...env, PATH: '' } }));
  return new Promise((resolve, reject) => {
    let output = '';
    service.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\S+)/.exec(output)?.[1];
      if (url) resolve(url);
    });
    service.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    service.once('exit', (code) => reject(new Error(`verify-service exited with ${code}: ${output}`)));
  });
}

beforeAll(async () => {
  const dir = tempDir('identity-example-');
  for (const file of ['auth-sidecar.yaml', 'htpasswd']) copyFileSync(join(EXAMPLE, file), join(dir, file));
  writePrivateKey(join(dir, 'identity-key.pem'), 'P-256');
  // The service listens first (on a port of its own); the sidecar then on a port named in advance.
  const sidecarPort = await freePort();
  serviceUrl = await startService({
    JWKS_URL: `http://127.0.0.1:${sidecarPort}/oauth2/jwks.json`,
    PORT: '0',
  });
  sidecar = await startSidecar({
    configFile: join(dir, 'auth-sidecar.yaml'),
    env: {
      AUTH_SIDECAR_LISTEN: `127.0.0.1:${sidecarPort}`,
      AUTH_SIDECAR_ADMIN__LISTEN: '127.0.0.1:0',
      AUTH_SIDECAR_UPSTREAM__URL: serviceUrl,
    },
    logDestination: new Writable({ write: (_chunk, _encoding, done) => done() }),
  });
});

afterAll(async () => {
  service?.kill();
  await sidecar?.shutdown();
});

describe('examples/identity-token', () => {
  it('the service knows the caller the sidecar let through', async () => {
    const response = await fetch(`${sidecar.url}/hello`, {
      headers: { authorization: basicAuth('alice', 'alice-demo-password') },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user: 'alice', email: null, groups: [], via: 'basic' });
  });

  it('the service refuses a request without the sidecar’s token, or with a forged one', async () => {
    const none = await fetch(`${serviceUrl}/hello`);
    expect(none.status).toBe(401);
    const forger = await createSigningKey('ES256');
    const forged = await new SignJWT({ sub: 'mallory', auth_method: 'basic' })
      .setProtectedHeader({ alg: 'ES256', kid: forger.kid })
      .setIssuer('auth-sidecar')
      .setAudience('legacy-app')
      .setExpirationTime('1m')
      .sign(forger.privateKey);
    const refused = await fetch(`${serviceUrl}/hello`, { headers: { 'x-auth-sidecar-identity': forged } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'invalid identity token' });
  });

  it('a wrong password never reaches the service', async () => {
    const response = await fetch(`${sidecar.url}/hello`, { headers: { authorization: basicAuth('alice', 'nope') } });
    expect(response.status).toBe(401);
  });
});
