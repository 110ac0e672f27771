// The identity token through a real sidecar, checked by an independent verifier: jose's
// createRemoteJWKSet over the sidecar's own {pathPrefix}/jwks.json, with the issuer and the
// audience pinned. On every forwarded request (WebSocket upgrades too) and every forward-auth
// 202, never on a public route, never a client's copy; key rotation without a restart; bad
// key files refused at start-up (78) and on reload.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTVerifyResult,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCli } from '../support/cli.ts';
import {
  type Echo,
  type EchoUpstream,
  echoOf,
  pingOverWebSocket,
  startEchoUpstream,
} from '../support/echo-upstream.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import {
  AUDIENCE,
  createSigningKey,
  ISSUER,
  jwksOf,
  type SigningKey,
  signToken,
  writePrivateKey,
} from '../support/keys.ts';
import { startTestSidecar, type TestSidecar, tempDir } from '../support/sidecar.ts';

const HEADER = 'x-auth-sidecar-identity';

let upstream: EchoUpstream;
let bearerKey: SigningKey;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  bearerKey = await createSigningKey('ES256');
});
afterAll(() => upstream?.close());

/** A sidecar with jwt and basic in front of the echo, and an identity token from these key files. */
async function startWithToken(
  keyFiles: string[] | ((dir: string) => string[]),
  extra: Record<string, unknown> = {},
): Promise<TestSidecar> {
  const dir = tempDir('identity-token-');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(bearerKey)));
  htpasswd(join(dir, 'htpasswd'), [{ user: 'bob', password: 'bob-pw' }]);
  const files = typeof keyFiles === 'function' ? keyFiles(dir) : keyFiles;
  return startTestSidecar(
    {
      upstream: { url: upstream.url },
      trustedProxies: ['127.0.0.1'],
      jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: join(dir, 'jwks.json') },
      basic: { htpasswdFile: join(dir, 'htpasswd') },
      identityToken: { signingKeyFile: files.length === 1 ? files[0] : files },
      routes: [{ path: '/public/**', auth: 'none' }],
      ...extra,
    },
    { dir },
  );
}

/** The independent verifier a service behind the sidecar would run. */
function verifierOf(sidecar: TestSidecar) {
  const jwks = createRemoteJWKSet(new URL(`${sidecar.url}/oauth2/jwks.json`), { cacheMaxAge: 0, cooldownDuration: 0 });
  return (token: string): Promise<JWTVerifyResult> =>
    jwtVerify(token, jwks, { issuer: 'auth-sidecar', audience: upstream.url });
}

async function forwarded(sidecar: TestSidecar, headers: Record<string, string>, path = '/app'): Promise<Echo> {
  const response = await fetch(`${sidecar.url}${path}`, { headers });
  expect(response.status).toBe(200);
  return echoOf(response);
}

async function tokenOf(sidecar: TestSidecar, headers: Record<string, string>): Promise<string> {
  const values = (await forwarded(sidecar, headers)).headers[HEADER] ?? [];
  expect(values).toHaveLength(1);
  return values[0] as string;
}

const bearer = async (claims: Record<string, unknown>) => ({
  authorization: `Bearer ${await signToken(bearerKey, claims)}`,
});

describe.each([
  ['P-256', 'ES256'],
  ['P-384', 'ES384'],
  ['Ed25519', 'EdDSA'],
  ['RSA-2048', 'RS256'],
] as const)('a %s key', (kind, alg) => {
  let sidecar: TestSidecar;
  beforeAll(async () => {
    sidecar = await startWithToken((dir) => {
      writePrivateKey(join(dir, 'key.pem'), kind);
      return [join(dir, 'key.pem')];
    });
  });
  afterAll(() => sidecar?.stop());

  it(`signs with ${alg}; the token verifies against the sidecar's JWKS`, async () => {
    const token = await tokenOf(sidecar, await bearer({ sub: 'alice', groups: ['dev'] }));
    const { payload, protectedHeader } = await verifierOf(sidecar)(token);
    expect(payload.sub).toBe('alice');
    const { keys } = (await (await fetch(`${sidecar.url}/oauth2/jwks.json`)).json()) as { keys: JwkWithKid[] };
    expect(keys).toHaveLength(1);
    const { kid, alg: published, use, ...publicJwk } = keys[0] as JwkWithKid;
    expect(protectedHeader).toMatchObject({ alg, kid });
    expect([published, use]).toEqual([alg, 'sig']);
    expect(kid).toBe(await calculateJwkThumbprint(publicJwk));
  });
});

interface JwkWithKid {
  kid: string;
  alg: string;
  use: string;
  [member: string]: unknown;
}

describe('the identity token', () => {
  let sidecar: TestSidecar;
  let verify: (token: string) => Promise<JWTVerifyResult>;
  beforeAll(async () => {
    sidecar = await startWithToken(
      (dir) => {
        writePrivateKey(join(dir, 'key.pem'), 'P-256');
        return [join(dir, 'key.pem')];
      },
      { upstream: { url: upstream.url, dropUnderscoreHeaders: false } },
    );
    verify = verifierOf(sidecar);
  });
  afterAll(() => sidecar?.stop());

  it('carries the identity in the contract’s claims', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const headers = await bearer({
      sub: 'alice',
      email: 'alice@corp.com',
      preferred_username: 'Alice A.',
      groups: ['dev', 'ops'],
      department: 'eng',
      exp,
    });
    const { payload } = await verify(await tokenOf(sidecar, headers));
    expect(Object.keys(payload).sort()).toEqual(
      ['aud', 'auth_method', 'email', 'exp', 'groups', 'iat', 'iss', 'jti', 'preferred_username', 'sub'].sort(),
    );
    expect(payload).toMatchObject({
      iss: 'auth-sidecar',
      aud: upstream.url,
      sub: 'alice',
      email: 'alice@corp.com',
      preferred_username: 'Alice A.',
      groups: ['dev', 'ops'],
      auth_method: 'jwt',
    });
    expect(payload.exp).toBe((payload.iat as number) + 60);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never outlives the credential it stands for', async () => {
    const exp = Math.floor(Date.now() / 1000) + 20;
    const { payload } = await verify(await tokenOf(sidecar, await bearer({ sub: 'carol', exp })));
    expect(payload.exp).toBe(exp);
  });

  it('says how the caller proved who it is', async () => {
    const { payload } = await verify(await tokenOf(sidecar, { authorization: basicAuth('bob', 'bob-pw') }));
    expect(payload).toMatchObject({ sub: 'bob', auth_method: 'basic', groups: [] });
    expect(payload).not.toHaveProperty('email');
  });

  it('is signed once and reused for the same identity', async () => {
    const headers = await bearer({ sub: 'dave' });
    const first = await tokenOf(sidecar, headers);
    expect(await tokenOf(sidecar, headers)).toBe(first);
    expect(await tokenOf(sidecar, await bearer({ sub: 'dave', groups: ['x'] }))).not.toBe(first);
  });

  it('replaces every client copy, in any case and "_" spelling; a public route gets none', async () => {
    const forged = await signToken(bearerKey, { sub: 'mallory' });
    const spoofed = {
      'X-Auth-Sidecar-Identity': forged,
      X_AUTH_SIDECAR_IDENTITY: forged,
      x_auth_sidecar_identity: forged,
      'X-AUTH-SIDECAR-IDENTITY2': 'kept: another header',
    };
    const echo = await forwarded(sidecar, { ...(await bearer({ sub: 'alice' })), ...spoofed });
    const copies = Object.entries(echo.headers).filter(([name]) => name.replaceAll('_', '-') === HEADER);
    expect(copies).toHaveLength(1);
    expect(decodeJwt(copies[0]?.[1][0] as string).sub).toBe('alice');
    expect(echo.headers['x-auth-sidecar-identity2']).toEqual(['kept: another header']);
    const publicEcho = await forwarded(sidecar, spoofed, '/public/page');
    expect(Object.keys(publicEcho.headers).filter((name) => name.replaceAll('_', '-') === HEADER)).toEqual([]);
  });

  it('answers a forward-auth check that passes with the token, a public one without', async () => {
    const response = await fetch(`${sidecar.url}/oauth2/auth`, {
      headers: { ...(await bearer({ sub: 'erin' })), 'x-forwarded-uri': '/app/x', 'x-forwarded-method': 'GET' },
    });
    expect(response.status).toBe(202);
    expect((await verify(response.headers.get(HEADER) as string)).payload.sub).toBe('erin');
    const publicCheck = await fetch(`${sidecar.url}/oauth2/auth`, { headers: { 'x-forwarded-uri': '/public/x' } });
    expect(publicCheck.status).toBe(202);
    expect(publicCheck.headers.has(HEADER)).toBe(false);
    const refused = await fetch(`${sidecar.url}/oauth2/auth`, { headers: { 'x-forwarded-uri': '/app/x' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.has(HEADER)).toBe(false);
  });

  it('goes with WebSocket upgrades too', async () => {
    const before = upstream.received.length;
    const url = `${sidecar.url.replace('http', 'ws')}/socket`;
    expect(await pingOverWebSocket(url, await bearer({ sub: 'frank' }))).toBe('ping');
    const upgrade = upstream.received.slice(before).find((echo) => echo.url === '/socket');
    expect((await verify(upgrade?.headers[HEADER]?.[0] as string)).payload.sub).toBe('frank');
  });

  it('publishes the keys without credentials, outside the route rules, for 300 s', async () => {
    const response = await fetch(`${sidecar.url}/oauth2/jwks.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('max-age=300');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    for (const key of keys)
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
    expect((await fetch(`${sidecar.url}/oauth2/jwks.json`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${sidecar.url}/oauth2/jwks.json`, { method: 'POST' })).status).toBe(405);
  });
});

describe('key rotation without a restart', () => {
  let sidecar: TestSidecar;
  let dir: string;

  beforeAll(async () => {
    sidecar = await startWithToken((d) => {
      dir = d;
      writePrivateKey(join(d, 'old.pem'), 'P-256');
      return [join(d, 'old.pem')];
    });
  });
  afterAll(() => sidecar?.stop());

  const kids = async () =>
    ((await (await fetch(`${sidecar.url}/oauth2/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map(
      (k) => k.kid,
    );

  /** Waits for the reload the file watcher starts (the contract allows 5 s). */
  async function reloaded(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('the sidecar did not reload within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('publishes a new key next to the old one, then signs with it; old tokens still verify', async () => {
    const verify = verifierOf(sidecar);
    const [oldKid] = await kids();
    const oldToken = await tokenOf(sidecar, await bearer({ sub: 'alice' }));
    writePrivateKey(join(dir, 'new.pem'), 'Ed25519');
    const config = readConfig(sidecar);
    config.identityToken = { signingKeyFile: [join(dir, 'new.pem'), join(dir, 'old.pem')] };
    writeFileSync(sidecar.configFile, stringify(config));
    await reloaded(async () => (await kids()).length === 2);
    const [newKid, stillOld] = await kids();
    expect(stillOld).toBe(oldKid);
    const newToken = await tokenOf(sidecar, await bearer({ sub: 'alice' }));
    expect(decodeProtectedHeader(newToken)).toMatchObject({ kid: newKid, alg: 'EdDSA' });
    expect((await verify(newToken)).payload.sub).toBe('alice');
    expect((await verify(oldToken)).payload.sub).toBe('alice');
  });

  it('follows a key file replaced in place (a Secret update), and refuses a broken one', async () => {
    const before = await kids();
    // A Secret update swaps the file under the same name.
    writePrivateKey(join(dir, 'next.pem'), 'P-384');
    renameSync(join(dir, 'next.pem'), join(dir, 'new.pem'));
    await reloaded(async () => (await kids())[0] !== before[0]);
    expect((await kids())[1]).toBe(before[1]);
    const signed = decodeProtectedHeader(await tokenOf(sidecar, await bearer({ sub: 'alice' })));
    expect(signed).toMatchObject({ alg: 'ES384', kid: (await kids())[0] });

    const good = await kids();
    writeFileSync(join(dir, 'new.pem'), 'not a key');
    await reloaded(async () => sidecar.logs.some((line) => String(line.msg).startsWith('config reload rejected')));
    const rejected = sidecar.logs.find((line) => String(line.msg).startsWith('config reload rejected'));
    expect(rejected?.problems).toEqual([
      `config: identityToken.signingKeyFile.0: "${join(dir, 'new.pem')}" is not a PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----")`,
    ]);
    expect(await kids()).toEqual(good);
    expect((await forwarded(sidecar, await bearer({ sub: 'alice' }))).headers[HEADER]).toHaveLength(1);
  });
});

function readConfig(sidecar: TestSidecar): Record<string, unknown> {
  return parse(readFileSync(sidecar.configFile, 'utf8')) as Record<string, unknown>;
}

describe('a key file that cannot sign', () => {
  it('is a config error (78) naming identityToken.signingKeyFile, without its content', async () => {
    const dir = tempDir('identity-token-bad-');
    const { publicKey } = writePrivateKey(join(dir, 'key.pem'), 'P-256');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(dir, 'public.pem'), pem);
    writeFileSync(
      join(dir, 'config.yaml'),
      stringify({
        upstream: { url: 'http://127.0.0.1:5000' },
        basic: { htpasswdFile: 'htpasswd' },
        identityToken: { signingKeyFile: 'public.pem' },
      }),
    );
    htpasswd(join(dir, 'htpasswd'), [{ user: 'bob', password: 'bob-pw' }]);
    const result = await runCli(['check-config', '--config', join(dir, 'config.yaml')]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(
      `config: identityToken.signingKeyFile: "${join(dir, 'public.pem')}" holds no private key (a public key or certificate): give the PKCS#8 private key\n`,
    );
    expect(result.stderr).not.toContain(pem.split('\n')[1] as string);
  });
});
