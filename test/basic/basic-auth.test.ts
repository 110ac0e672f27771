// HTTP basic through a real sidecar, with htpasswd and groups files made by Apache's tool and a
// real upstream: what the app receives, the challenges, one named test per malformed input, and
// lockout as a client sees it.

import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Echo, type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import { createSigningKey, ISSUER, jwksOf, type SigningKey, signToken } from '../support/keys.ts';
import { startTestSidecar, type TestSidecar, tempDir } from '../support/sidecar.ts';
import { eventually } from '../support/wait.ts';

let upstream: EchoUpstream;
let sidecar: TestSidecar;
let key: SigningKey;
const LATIN1_PASSWORD = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in latin1: not UTF-8

beforeAll(async () => {
  upstream = await startEchoUpstream();
  key = await createSigningKey('ES256', 'k1');
  const dir = tempDir();
  htpasswd(join(dir, 'htpasswd'), [
    { user: 'alice', password: 'alice-pw', kind: 'B', cost: 5 },
    { user: 'bob', password: 'bob:with:colons', kind: 'm' },
    { user: 'carol', password: 'carol-pw', kind: 's' },
    { user: 'dora', password: LATIN1_PASSWORD, kind: 'B', cost: 5 },
    { user: 'eve', password: 'eve-pw', kind: 'B', cost: 5 },
    { user: 'frank', password: 'frank-pw', kind: 'B', cost: 5 },
    { user: 'jürgen', password: 'jürgen-pw', kind: 'B', cost: 5 },
    // Slow enough (~250 ms a check) that a burst of attempts is all in flight at once.
    { user: 'ivy', password: 'ivy-pw', kind: 'B', cost: 12 },
    // Hashed from the empty password, as a script with an unset variable makes them.
    { user: 'unset-b', password: '', kind: 'B', cost: 5 },
    { user: 'unset-m', password: '', kind: 'm' },
    { user: 'unset-s', password: '', kind: 's' },
    { user: 'long', password: 'a'.repeat(72), kind: 'B', cost: 5 },
  ]);
  writeFileSync(join(dir, 'groups'), 'admins: alice\nstaff: alice bob jürgen\n');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
  sidecar = await startTestSidecar(
    {
      upstream: { url: upstream.url },
      jwt: { issuer: ISSUER, audience: 'my-api', keysFile: 'jwks.json' },
      basic: {
        htpasswdFile: 'htpasswd',
        groupsFile: 'groups',
        realm: 'legacy-app',
        lockout: { maxFailures: 3, addressMaxFailures: 0, backoffSeconds: 60 },
      },
      routes: [
        { path: '/public/**', auth: 'none' },
        { path: '/admin/**', allow: { groups: ['admins'] } },
        { path: '/basic-only/**', auth: ['basic'] },
        { path: '/jwt-only/**', auth: ['jwt'] },
      ],
    },
    { dir },
  );
});

afterAll(async () => {
  await sidecar?.stop();
  await upstream?.close();
});

function call(path: string, authorization?: string, headers: Record<string, string> = {}) {
  return fetch(`${sidecar.url}${path}`, {
    headers: { ...(authorization === undefined ? {} : { authorization }), ...headers },
  });
}

const echoOf = async (res: Response) => (await res.json()) as Echo;

const BOTH_CHALLENGES = 'Bearer realm="legacy-app", Basic realm="legacy-app"';

async function expectRefused(authorization: string, path = '/api'): Promise<Record<string, unknown>> {
  const before = upstream.received.length;
  const res = await call(path, authorization);
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe(BOTH_CHALLENGES);
  expect(upstream.received.length).toBe(before);
  return (await res.json()) as Record<string, unknown>;
}

describe('valid credentials', () => {
  it.each([
    ['alice', 'alice-pw', 'bcrypt', 'admins,staff'],
    ['bob', 'bob:with:colons', 'apr1 (a password with colons)', 'staff'],
    ['carol', 'carol-pw', '{SHA}', undefined],
  ])('%s (%s hash, %s) reaches the app with identity headers', async (user, password, _kind, groups) => {
    const res = await call('/api/items?x=1', basicAuth(user, password));
    expect(res.status).toBe(200);
    const echo = await echoOf(res);
    expect(echo.url).toBe('/api/items?x=1');
    expect(echo.headers['x-forwarded-user']).toEqual([user]);
    expect(echo.headers['x-forwarded-groups']).toEqual(groups === undefined ? undefined : [groups]);
    expect(echo.headers['x-forwarded-email']).toBeUndefined();
    expect(echo.headers.authorization).toBeUndefined();
  });

  it('a non-UTF-8 password authenticates as its raw bytes', async () => {
    const res = await call('/api', basicAuth('dora', LATIN1_PASSWORD));
    expect(res.status).toBe(200);
    expect((await echoOf(res)).headers['x-forwarded-user']).toEqual(['dora']);
  });

  it('a UTF-8 user name reaches the app as UTF-8 bytes', async () => {
    const res = await call('/api', basicAuth('jürgen', 'jürgen-pw'));
    expect(res.status).toBe(200);
    const echo = await echoOf(res);
    expect(Buffer.from(echo.headers['x-forwarded-user']?.[0] ?? '', 'latin1').toString('utf8')).toBe('jürgen');
  });

  it('client-sent identity headers are replaced', async () => {
    const res = await call('/api', basicAuth('carol', 'carol-pw'), {
      'x-forwarded-user': 'admin',
      'x-forwarded-groups': 'admins',
    });
    const echo = await echoOf(res);
    expect(echo.headers['x-forwarded-user']).toEqual(['carol']);
    expect(echo.headers['x-forwarded-groups']).toBeUndefined();
  });

  it('groups from the groups file feed route rules', async () => {
    expect((await call('/admin/panel', basicAuth('alice', 'alice-pw'))).status).toBe(200);
    expect((await call('/admin/panel', basicAuth('bob', 'bob:with:colons'))).status).toBe(403);
  });

  it('userinfo reports the basic identity', async () => {
    const res = await call('/oauth2/userinfo', basicAuth('alice', 'alice-pw'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user: 'alice', email: null, groups: ['admins', 'staff'], authMethod: 'basic' });
  });

  it('the scheme name is case-insensitive', async () => {
    const header = basicAuth('alice', 'alice-pw').replace('Basic', 'bAsIc');
    expect((await call('/api', header)).status).toBe(200);
  });

  it('the access log names the user and method, and never the credentials', async () => {
    const header = basicAuth('alice', 'alice-pw');
    const res = await call('/api/logged', header);
    expect(res.status).toBe(200);
    await eventually(() => sidecar.logs.some((l) => l.path === '/api/logged'), 'the access line');
    const line = sidecar.logs.find((l) => l.path === '/api/logged');
    expect(line).toMatchObject({ status: 200, user: 'alice', authMethod: 'basic' });
    const all = JSON.stringify(sidecar.logs);
    expect(all).not.toContain(header.slice(6));
    expect(all).not.toContain('alice-pw');
  });
});

describe('challenges', () => {
  it('401 without credentials names Basic beside Bearer, with the realm, exactly as the issue writes it', async () => {
    const res = await call('/api');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(BOTH_CHALLENGES);
  });

  it('a basic-only route challenges only Basic; a jwt-only route only Bearer', async () => {
    const basic = await call('/basic-only/x');
    expect(basic.headers.get('www-authenticate')).toBe('Basic realm="legacy-app"');
    const jwt = await call('/jwt-only/x');
    expect(jwt.headers.get('www-authenticate')).toBe('Bearer realm="legacy-app"');
  });

  it('basic credentials on a jwt-only route are not accepted', async () => {
    const res = await call('/jwt-only/x', basicAuth('alice', 'alice-pw'));
    expect(res.status).toBe(401);
  });

  it('a bearer token still works beside basic, and passes through unchanged', async () => {
    const token = await signToken(key);
    const res = await call('/api', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect((await echoOf(res)).headers.authorization).toEqual([`Bearer ${token}`]);
  });

  it('a public route needs no credentials', async () => {
    expect((await call('/public/logo.png')).status).toBe(200);
  });
});

describe('refused credentials (named negative tests)', () => {
  it('wrong password', async () => {
    expect(await expectRefused(basicAuth('carol', 'wrong'))).toMatchObject({
      error: 'invalid_credentials',
      message: 'wrong user name or password',
    });
  });

  it('unknown user: the same answer as a wrong password', async () => {
    expect(await expectRefused(basicAuth('nobody', 'wrong'))).toMatchObject({
      error: 'invalid_credentials',
      message: 'wrong user name or password',
    });
  });

  it('malformed base64', async () => {
    expect(await expectRefused('Basic %%%not-base64%%%')).toMatchObject({ error: 'invalid_request' });
  });

  it('missing colon', async () => {
    const body = await expectRefused(`Basic ${Buffer.from('carolcarol-pw').toString('base64')}`);
    expect(body).toMatchObject({ error: 'invalid_request' });
  });

  it('empty user', async () => {
    expect(await expectRefused(basicAuth('', 'carol-pw'))).toMatchObject({ error: 'invalid_request' });
  });

  it('empty credentials', async () => {
    expect(await expectRefused('Basic')).toMatchObject({ error: 'invalid_request' });
  });

  it('a 10 KB header', async () => {
    const header = basicAuth('carol', 'x'.repeat(10 * 1024));
    expect(header.length).toBeGreaterThan(10 * 1024);
    expect(await expectRefused(header)).toMatchObject({ error: 'invalid_request' });
  });

  it('a password that is right except for an added colon', async () => {
    await expectRefused(basicAuth('bob', 'bob:with:colons:'));
  });

  it('non-UTF-8 bytes in the user name', async () => {
    const body = await expectRefused(basicAuth(Buffer.from([0x61, 0xff, 0x62]), 'x'));
    expect(body).toMatchObject({ error: 'invalid_request' });
  });

  it('non-UTF-8 bytes sent raw in the header (not base64)', async () => {
    const { status, challenge } = await new Promise<{ status: number; challenge: unknown }>((resolve, reject) => {
      const url = new URL('/api', sidecar.url);
      const req = httpRequest(url, { headers: { authorization: 'Basic caf\xe9:\xff\xfe' } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] });
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
    expect(challenge).toBe(BOTH_CHALLENGES);
  });

  it('the right password in the wrong encoding (UTF-8 instead of the raw latin1 bytes)', async () => {
    await expectRefused(basicAuth('dora', 'café'));
  });
});

describe('password edge cases (issue 11, items 5 and 6)', () => {
  it('an empty password never authenticates, whatever the entry is hashed from (bcrypt, apr1, {SHA})', async () => {
    for (const user of ['unset-b', 'unset-m', 'unset-s', 'dora']) {
      expect(await expectRefused(basicAuth(user, ''))).toMatchObject({ error: 'invalid_credentials' });
    }
  });

  it('each entry hashed from the empty password is warned about at load, by user, never by hash', async () => {
    const warned = () => sidecar.logs.filter((l) => l.level === 'warn' && /empty password/.test(String(l.msg)));
    await eventually(() => warned().length >= 3, 'the three warnings');
    // In any order: an empty password tried earlier may have had its entry checked first.
    expect(
      warned()
        .map((l) => `${l.user} ${l.scheme}`)
        .sort(),
    ).toEqual(['unset-b bcrypt', 'unset-m apr1', 'unset-s sha1']);
    expect(JSON.stringify(sidecar.logs)).not.toMatch(/\$2y\$|\$apr1\$|\{SHA\}/);
  });

  it('bcrypt: a password over 72 bytes never matches, even one whose first 72 bytes are right', async () => {
    expect(await expectRefused(basicAuth('long', `${'a'.repeat(72)}Y`))).toMatchObject({
      error: 'invalid_credentials',
    });
    expect((await call('/api', basicAuth('long', 'a'.repeat(72)))).status).toBe(200);
  });
});

describe('lockout', () => {
  it('past the limit: 429 with Retry-After, even for the right password, for any case of the name', async () => {
    for (let i = 0; i < 3; i++) await expectRefused(basicAuth('eve', `guess-${i}`));
    for (const user of ['eve', 'EVE', 'Eve']) {
      const res = await call('/api', basicAuth(user, 'eve-pw'));
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(await res.json()).toMatchObject({ error: 'too_many_attempts' });
    }
  });

  it('a burst of concurrent guesses is checked only up to the limit; the rest get 429', async () => {
    const checks = async () => {
      const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
      return Number(/^auth_sidecar_basic_hash_checks_total\{scheme="bcrypt"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    };
    const before = await checks();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => (await call('/api', basicAuth('ivy', `burst-${i}`))).status),
    );
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(17);
    expect((await checks()) - before).toBeLessThanOrEqual(3);
    expect((await call('/api', basicAuth('ivy', 'ivy-pw'))).status).toBe(429);
  });

  it('names the header Retry-After on the wire, as the contract writes it', async () => {
    for (let i = 0; i < 3; i++) await expectRefused(basicAuth('grace', `guess-${i}`));
    const rawHeaders = await new Promise<string[]>((resolve, reject) => {
      const url = new URL('/api', sidecar.url);
      const req = httpRequest(url, { headers: { authorization: basicAuth('grace', 'x') } }, (res) => {
        res.resume();
        resolve(res.rawHeaders);
      });
      req.on('error', reject);
      req.end();
    });
    const names = rawHeaders.filter((_, i) => i % 2 === 0);
    expect(names).toContain('Retry-After');
    expect(names).not.toContain('retry-after');
  });

  it('answers a user that does not exist exactly as one that does', async () => {
    const statuses = async (user: string) => {
      const out: [number, string | null, unknown][] = [];
      for (let i = 0; i < 4; i++) {
        const res = await call('/api', basicAuth(user, `guess-${i}`));
        const body = (await res.json()) as { error: string; message: string };
        out.push([res.status, res.headers.get('www-authenticate'), `${body.error}: ${body.message}`]);
      }
      return out;
    };
    const missing = await statuses('no-such-user');
    expect(missing.map(([status]) => status)).toEqual([401, 401, 401, 429]);
    expect(await statuses('frank')).toEqual(missing);
  });

  it('counts lockouts in /metrics', async () => {
    const metrics = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^auth_sidecar_basic_lockouts_total\{scope="user"\} [2-9]/m);
    expect(metrics).toMatch(/^auth_sidecar_basic_hash_checks_total\{scheme="bcrypt"\} \d+/m);
  });
});

describe('basic.passAuthorization', () => {
  it('keeps the basic Authorization header for the app when set', async () => {
    const dir = tempDir();
    htpasswd(join(dir, 'htpasswd'), [{ user: 'alice', password: 'alice-pw', cost: 4 }]);
    const passing = await startTestSidecar(
      { upstream: { url: upstream.url }, basic: { htpasswdFile: 'htpasswd', passAuthorization: true } },
      { dir },
    );
    try {
      const header = basicAuth('alice', 'alice-pw');
      const res = await fetch(`${passing.url}/api`, { headers: { authorization: header } });
      expect(res.status).toBe(200);
      const echo = await echoOf(res);
      expect(echo.headers.authorization).toEqual([header]);
      expect(echo.headers['x-forwarded-user']).toEqual(['alice']);
      const challenge = (await fetch(`${passing.url}/api`)).headers.get('www-authenticate');
      expect(challenge).toBe('Basic realm="auth-sidecar"');
    } finally {
      await passing.stop();
    }
  });
});
