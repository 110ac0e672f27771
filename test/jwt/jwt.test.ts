// Bearer JWT through a real sidecar, against a real JWKS server and a real upstream.
// One named test per attack.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type CryptoKey, exportSPKI, importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from '../support/admin.ts';
import { type EchoUpstream, echoOf, startEchoUpstream } from '../support/echo-upstream.ts';
import { freePort } from '../support/free-port.ts';
import {
  AUDIENCE,
  createSigningKey,
  ISSUER,
  type JwksServer,
  jwksOf,
  type SigningKey,
  signToken,
  startJwksServer,
} from '../support/keys.ts';
import { rawRequest } from '../support/raw-http.ts';
import { startTestSidecar, type TestSidecar, tempDir } from '../support/sidecar.ts';
import { eventually } from '../support/wait.ts';

let upstream: EchoUpstream;
let jwks: JwksServer;
let sidecar: TestSidecar;
let rsa: SigningKey;
let ec: SigningKey;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  rsa = await createSigningKey('RS256', 'rsa-1');
  ec = await createSigningKey('ES256', 'ec-1');
  jwks = await startJwksServer([rsa, ec]);
  sidecar = await startTestSidecar({
    upstream: { url: upstream.url },
    jwt: { issuer: ISSUER, audience: [AUDIENCE, 'other-api'], jwksUri: jwks.jwksUri, algorithms: ['RS256', 'ES256'] },
  });
});

afterAll(async () => {
  await sidecar?.stop();
  await jwks?.close();
  await upstream?.close();
});

function call(token: string | undefined, path = '/api', headers: Record<string, string> = {}) {
  return fetch(`${sidecar.url}${path}`, {
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
  });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function expectRejected(token: string, description: string): Promise<void> {
  const before = upstream.received.length;
  const res = await call(token);
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe(
    `Bearer realm="auth-sidecar", error="invalid_token", error_description="${description}"`,
  );
  expect(await res.json()).toMatchObject({ error: 'invalid_token' });
  expect(upstream.received.length).toBe(before);
}

describe('valid tokens', () => {
  it('reach the app with identity headers, and the bearer header unchanged', async () => {
    const token = await signToken(rsa, {
      email: 'alice@example.com',
      groups: ['admins', 'staff'],
      preferred_username: 'alice.a',
    });
    const res = await call(token, '/api/items?x=1');
    expect(res.status).toBe(200);
    const echo = await echoOf(res);
    expect(echo.url).toBe('/api/items?x=1');
    expect(echo.headers['x-forwarded-user']).toEqual(['alice']);
    expect(echo.headers['x-forwarded-email']).toEqual(['alice@example.com']);
    expect(echo.headers['x-forwarded-groups']).toEqual(['admins,staff']);
    expect(echo.headers['x-forwarded-preferred-username']).toEqual(['alice.a']);
    expect(echo.headers.authorization).toEqual([`Bearer ${token}`]);
  });

  it('accept ES256 and any listed audience', async () => {
    const res = await call(await signToken(ec, { aud: ['unrelated', 'other-api'] }));
    expect(res.status).toBe(200);
  });

  it('accept an exp just past, within the clock tolerance, and nbf just ahead', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await call(await signToken(ec, { exp: now - 10 }))).status).toBe(200);
    expect((await call(await signToken(ec, { nbf: now + 10 }))).status).toBe(200);
  });

  it('accept no typ, JWT and at+jwt in any case, with or without application/ (RFC 7515 §4.1.9)', async () => {
    for (const typ of [undefined, 'JWT', 'jwt', 'at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/JWT']) {
      const res = await call(await signToken(ec, {}, typ === undefined ? {} : { typ }));
      expect(res.status, String(typ)).toBe(200);
    }
  });

  it('accept an iat just ahead, within the clock tolerance, and none at all', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await call(await signToken(ec, { iat: now + 10 }))).status).toBe(200);
    expect((await call(await signToken(ec, { iat: undefined }))).status).toBe(200);
  });

  it('accept the scheme name in any case', async () => {
    const token = await signToken(ec);
    const res = await fetch(`${sidecar.url}/x`, { headers: { authorization: `bEaReR ${token}` } });
    expect(res.status).toBe(200);
  });
});

describe('no token', () => {
  it('gets 401 with a bare Bearer challenge (no error, RFC 6750 §3.1)', async () => {
    const res = await call(undefined);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="auth-sidecar"');
    expect(await res.json()).toMatchObject({ error: 'unauthenticated' });
  });
});

describe('attacks, one per test', () => {
  it('alg "none" is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'root', exp: now + 300 })}.`;
    await expectRejected(token, 'the token algorithm is not accepted');
  });

  it('HS256 signed with the RSA public key is refused (key confusion)', async () => {
    const pem = await exportSPKI((await importJWK(rsa.publicJwk, 'RS256', { extractable: true })) as CryptoKey);
    for (const secret of [pem, JSON.stringify(rsa.publicJwk), rsa.publicJwk.n as string]) {
      const token = await new SignJWT({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'root',
        exp: Math.floor(Date.now() / 1000) + 300,
      })
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .sign(new TextEncoder().encode(secret));
      await expectRejected(token, 'the token algorithm is not accepted');
    }
  });

  it('a key embedded in the header (jwk) is never used', async () => {
    const attacker = await createSigningKey('RS256', 'attacker');
    const token = await signToken(attacker, { sub: 'root' }, { jwk: attacker.publicJwk });
    await expectRejected(token, 'no known key matches the token');
    // Same kid as a real key, signed by the attacker: the signature check fails.
    const sameKid = await signToken({ ...attacker, kid: rsa.kid }, { sub: 'root' }, { jwk: attacker.publicJwk });
    await expectRejected(sameKid, 'the token signature is invalid');
  });

  it('a key URL in the header (jku, x5u) is never contacted', async () => {
    let contacted = 0;
    const attacker = await createSigningKey('RS256', 'attacker-jku');
    const evil = createServer((_req, res) => {
      contacted++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(attacker)));
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/jwks.json`;
    try {
      const token = await signToken(attacker, { sub: 'root' }, { jku: evilUrl, x5u: evilUrl });
      await expectRejected(token, 'no known key matches the token');
      expect(contacted).toBe(0);
    } finally {
      evil.close();
    }
  });

  it('an unknown kid is refused, and refetches the JWKS at most once per cooldown', async () => {
    const stranger = await createSigningKey('ES256', 'unknown-kid');
    const hitsBefore = jwks.hits;
    for (let i = 0; i < 20; i++) await expectRejected(await signToken(stranger), 'no known key matches the token');
    expect(jwks.hits - hitsBefore).toBeLessThanOrEqual(1);
  });

  it('kid values shaped as paths or SQL are just unknown kids', async () => {
    const stranger = await createSigningKey('ES256', 'x');
    for (const kid of ['../../../../dev/null', "' OR '1'='1' --", '/etc/passwd', '%00', '{"$ne":null}']) {
      await expectRejected(await signToken({ ...stranger, kid }), 'no known key matches the token');
    }
  });

  it('an expired token is refused', async () => {
    await expectRejected(await signToken(rsa, { exp: Math.floor(Date.now() / 1000) - 120 }), 'the token expired');
  });

  it('a not-yet-valid token is refused', async () => {
    await expectRejected(
      await signToken(rsa, { nbf: Math.floor(Date.now() / 1000) + 300 }),
      'the token is not yet valid',
    );
  });

  it('a token without exp is refused', async () => {
    const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: ec.kid })
      .sign(ec.privateKey);
    await expectRejected(token, 'the token has no exp claim');
  });

  it('a wrong issuer is refused', async () => {
    await expectRejected(await signToken(rsa, { iss: 'https://evil.example' }), 'the token iss claim is not accepted');
  });

  it('a wrong audience is refused', async () => {
    await expectRejected(await signToken(rsa, { aud: 'someone-else' }), 'the token aud claim is not accepted');
  });

  it('an algorithm outside the allowlist is refused, even with a valid key', async () => {
    const ps = await createSigningKey('PS256', rsa.kid);
    await expectRejected(await signToken(ps), 'the token algorithm is not accepted');
  });

  it('a forged signature is refused', async () => {
    const token = await signToken(rsa);
    const [header, payload] = token.split('.');
    const forged = `${header}.${b64({ ...JSON.parse(Buffer.from(payload as string, 'base64url').toString()), sub: 'root' })}.${token.split('.')[2]}`;
    await expectRejected(forged, 'the token signature is invalid');
  });

  it('an OpenID logout token (typ logout+jwt, events claim) is refused as a bearer token', async () => {
    const events = { 'http://schemas.openid.net/event/backchannel-logout': {} };
    await expectRejected(
      await signToken(rsa, { events, jti: 'j1', sid: 's1' }, { typ: 'logout+jwt' }),
      'the token typ is not an access token',
    );
  });

  it('a token whose typ names another kind is refused (RFC 8725 §3.11)', async () => {
    for (const typ of ['secevent+jwt', 'dpop+jwt', 'application/logout+jwt', 'id_token+jwt', 'JOSE', 'jwt+x', '']) {
      await expectRejected(await signToken(rsa, {}, { typ }), 'the token typ is not an access token');
    }
    await expectRejected(await signToken(rsa, {}, { typ: 42 }), 'the token typ is not an access token');
  });

  it('a token with an events claim is refused whatever its typ (a security event token)', async () => {
    const events = { 'http://schemas.openid.net/event/backchannel-logout': {} };
    for (const header of [{}, { typ: 'JWT' }, { typ: 'at+jwt' }]) {
      await expectRejected(
        await signToken(rsa, { events }, header),
        'the token is a security event token, not an access token',
      );
    }
  });

  it('a token issued in the future (iat beyond the clock tolerance) is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(
      await signToken(ec, { iat: now + 86_400, exp: now + 3600 }),
      'the token is issued in the future',
    );
    await expectRejected(await signToken(ec, { iat: now + 120 }), 'the token is issued in the future');
  });

  it('a 64 KB token is refused with a 4xx, never a 5xx', async () => {
    const token = `${b64({ alg: 'RS256' })}.${'a'.repeat(64 * 1024)}.sig`;
    const res = await call(token);
    expect(res.status).toBe(431);
    expect(upstream.received.every((r) => !r.headers.authorization?.[0]?.includes('aaaaaaaa'))).toBe(true);
  });

  it('a 15 KB token (under the header limit) is a 401', async () => {
    await expectRejected(`${b64({ alg: 'RS256' })}.${'a'.repeat(15 * 1024)}.sig`, 'the token signature is invalid');
  });

  it('garbage is refused with 401, never a 5xx', async () => {
    const cases: [string, string][] = [
      ['garbage', 'the token is not a compact JWS'],
      ['a.b', 'the token is not a compact JWS'],
      ['a.b.c.d', 'the token is not a compact JWS'],
      ['e30.e30.', 'the token is malformed'],
      ['!!!.###.$$$', 'the token is not a compact JWS'],
      // The signature is checked before the payload is read.
      [`${b64({ alg: 'RS256', kid: rsa.kid })}.bm90LWpzb24.c2ln`, 'the token signature is invalid'],
      [`${b64('just a string')}.${b64({})}.c2ln`, 'the token is malformed'],
    ];
    for (const [token, description] of cases) {
      const res = await call(token);
      expect(res.status, token).toBe(401);
      expect(res.headers.get('www-authenticate'), token).toContain(`error_description="${description}"`);
    }
    for (const header of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearerabc']) {
      const res = await fetch(`${sidecar.url}/x`, { headers: { authorization: header } });
      expect(res.status, header).toBe(401);
    }
  });

  it('two Authorization headers are refused with 400', async () => {
    const token = await signToken(rsa);
    const raw = await rawRequest(
      sidecar.url,
      `GET /api HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer other\r\nConnection: close\r\n\r\n`,
    );
    expect(raw.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(raw).toContain('"error":"duplicate_authorization"');
  });
});

describe('key rotation and JWKS outages', () => {
  it('picks up a rotated key, keeps known keys while the JWKS is down, and empties the token cache on change', async () => {
    const rotating = await startJwksServer([rsa]);
    const dir = tempDir();
    const local = await startTestSidecar(
      {
        upstream: { url: upstream.url },
        jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUri: rotating.jwksUri, jwksCooldownSeconds: 0.2 },
      },
      { dir },
    );
    try {
      const oldToken = await signToken(rsa);
      expect((await call2(local, oldToken)).status).toBe(200);
      // Rotation: a new key appears; the old one goes.
      const next = await createSigningKey('RS256', 'rsa-2');
      rotating.keys = [next];
      const nextToken = await signToken(next);
      // The new kid is fetched once the 0.2 s cooldown since the last fetch has passed.
      await eventually(async () => (await call2(local, nextToken)).status === 200, 'the rotated key');
      // The cached verification of the old token is gone with the key that signed it.
      expect((await call2(local, oldToken)).status).toBe(401);
      // Outage: the keys already known keep working.
      rotating.down = true;
      const stranger = await createSigningKey('RS256', 'rsa-3');
      const strangerToken = await signToken(stranger);
      // Each unknown kid asks the JWKS again once the cooldown allows: until one of them fails.
      const strangerStatuses = new Set<number>();
      await eventually(async () => {
        strangerStatuses.add((await call2(local, strangerToken)).status);
        const text = await (await fetch(`${local.adminUrl}/metrics`)).text();
        return /auth_sidecar_jwks_refreshes_total\{result="failure"\} [1-9]/.test(text);
      }, 'a failed JWKS fetch');
      expect([...strangerStatuses]).toEqual([401]);
      expect((await call2(local, await signToken(next, { sub: 'bob' }))).status).toBe(200);
      const metrics = await (await fetch(`${local.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/auth_sidecar_jwks_refreshes_total\{result="failure"\} [1-9]/);
    } finally {
      await local.stop();
      await rotating.close();
    }
  });

  it('picks up a key rotated right after start, before any cooldown passed', async () => {
    const rotating = await startJwksServer([rsa]);
    const local = await startTestSidecar({
      upstream: { url: upstream.url },
      jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUri: rotating.jwksUri },
    });
    try {
      await eventually(() => rotating.hits >= 1, 'the start-up fetch');
      const next = await createSigningKey('RS256', 'rsa-rotated-early');
      rotating.keys = [rsa, next];
      expect((await call2(local, await signToken(next))).status).toBe(200);
      // From that fetch on, the 30 s cooldown holds: another unknown kid fetches nothing.
      const hits = rotating.hits;
      const stranger = await createSigningKey('RS256', 'rsa-stranger');
      expect((await call2(local, await signToken(stranger))).status).toBe(401);
      expect(rotating.hits).toBe(hits);
    } finally {
      await local.stop();
      await rotating.close();
    }
  });

  it('answers 503 with Retry-After when no key was ever fetched', async () => {
    const dead = await startJwksServer([rsa]);
    dead.down = true;
    const local = await startTestSidecar({
      upstream: { url: upstream.url },
      jwt: { audience: AUDIENCE, jwksUri: dead.jwksUri },
    });
    try {
      const res = await call2(local, await signToken(rsa));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toMatchObject({ error: 'jwks_unavailable' });
    } finally {
      await local.stop();
      await dead.close();
    }
  });

  it('says in the log which JWKS URL failed and why, and counts the failure', async () => {
    const jwksUri = `http://127.0.0.1:${await freePort()}/jwks.json`;
    const local = await startTestSidecar({ upstream: { url: upstream.url }, jwt: { audience: AUDIENCE, jwksUri } });
    try {
      expect((await call2(local, await signToken(rsa))).status).toBe(503);
      expect(local.logs.find((l) => l.msg === 'JWKS fetch failed; keeping the keys already known')).toMatchObject({
        reason: expect.stringMatching(new RegExp(`^${jwksUri}: fetch failed: .*ECONNREFUSED`)),
      });
      expect(await metricValue(local.adminUrl, 'auth_sidecar_jwks_refreshes_total{result="failure"}')).toBeGreaterThan(
        0,
      );
    } finally {
      await local.stop();
    }
  });
});

describe('key sources and issuers', () => {
  it('finds the JWKS through the issuer’s discovery document', async () => {
    const idp = await startJwksServer([ec]);
    const local = await startTestSidecar({
      upstream: { url: upstream.url },
      jwt: { issuer: idp.url, audience: AUDIENCE },
    });
    try {
      expect((await call2(local, await signToken(ec, { iss: idp.url }))).status).toBe(200);
    } finally {
      await local.stop();
      await idp.close();
    }
  });

  it('reads keys from a local keysFile', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(ec)));
    const local = await startTestSidecar(
      { upstream: { url: upstream.url }, jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: 'jwks.json' } },
      { dir },
    );
    try {
      expect((await call2(local, await signToken(ec))).status).toBe(200);
      expect((await call2(local, await signToken(rsa))).status).toBe(401);
    } finally {
      await local.stop();
    }
  });

  it('accepts tokens of several issuers, each checked with its own keys and audience', async () => {
    const other = await createSigningKey('ES256', 'other');
    const otherJwks = await startJwksServer([other]);
    const local = await startTestSidecar({
      upstream: { url: upstream.url },
      jwt: [
        { issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri },
        {
          issuer: 'https://second.example',
          audience: 'second-api',
          jwksUri: otherJwks.jwksUri,
          claims: { user: 'email' },
        },
      ],
    });
    try {
      expect((await call2(local, await signToken(ec))).status).toBe(200);
      const second = await call2(
        local,
        await signToken(other, { iss: 'https://second.example', aud: 'second-api', email: 'bob@second.example' }),
      );
      expect(second.status).toBe(200);
      expect((await echoOf(second)).headers['x-forwarded-user']).toEqual(['bob@second.example']);
      // A key of one issuer does not sign for the other.
      expect(
        (await call2(local, await signToken(ec, { iss: 'https://second.example', aud: 'second-api' }))).status,
      ).toBe(401);
      expect((await call2(local, await signToken(other, { iss: 'https://third.example' }))).status).toBe(401);
    } finally {
      await local.stop();
      await otherJwks.close();
    }
  });

  it('verifies HS256 with a shared secret (only when one is configured)', async () => {
    const secret = 'a-shared-secret-of-enough-length-0123456789';
    const local = await startTestSidecar({
      upstream: { url: upstream.url },
      jwt: { issuer: ISSUER, audience: AUDIENCE, secret },
    });
    try {
      const sign = (key: string) =>
        new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'svc', exp: Math.floor(Date.now() / 1000) + 60 })
          .setProtectedHeader({ alg: 'HS256' })
          .sign(new TextEncoder().encode(key));
      expect((await call2(local, await sign(secret))).status).toBe(200);
      expect((await call2(local, await sign(`${secret}-wrong`))).status).toBe(401);
      expect((await call2(local, await signToken(ec))).status).toBe(401);
    } finally {
      await local.stop();
    }
  });

  it('maps configured claims: dotted names, comma-separated groups, a missing user claim', async () => {
    const local = await startTestSidecar({
      upstream: { url: upstream.url },
      jwt: {
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: jwks.jwksUri,
        claims: { user: 'preferred_username', groups: 'realm_access.roles', email: 'mail' },
      },
    });
    try {
      const res = await call2(
        local,
        await signToken(ec, {
          preferred_username: 'carol',
          realm_access: { roles: ['r1', 'r2'] },
          mail: 'c@x.example',
        }),
      );
      const echo = await echoOf(res);
      expect(echo.headers['x-forwarded-user']).toEqual(['carol']);
      expect(echo.headers['x-forwarded-groups']).toEqual(['r1,r2']);
      expect(echo.headers['x-forwarded-email']).toEqual(['c@x.example']);
      const noUser = await call2(local, await signToken(ec));
      expect(noUser.status).toBe(401);
      expect(noUser.headers.get('www-authenticate')).toContain(
        'error_description="the token has no preferred_username claim"',
      );
    } finally {
      await local.stop();
    }
  });
});

function call2(target: TestSidecar, token: string) {
  return fetch(`${target.url}/api`, { headers: { authorization: `Bearer ${token}` } });
}
