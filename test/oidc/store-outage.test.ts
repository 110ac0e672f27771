// The session store goes away: Redis paused (SIGSTOP) or stopped. Requests that need a session
// get 503 + Retry-After within 2 s (never a login loop, never a crash), bearer and basic go on,
// /readyz says so, and everything comes back by itself with Redis.

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBrowser } from '../support/browser.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, type SigningKey, signToken } from '../support/keys.ts';
import { type LoginStack, login, PUBLIC_URL, startLoginStack } from '../support/login-stack.ts';
import { type RedisProcess, startRedisServer, stopRedisServers } from '../support/redis-servers.ts';
import { tempDir } from '../support/sidecar.ts';
import { eventually } from '../support/wait.ts';

async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work;
  return [result, performance.now() - started];
}

describe('session store outage', () => {
  let redis: RedisProcess;
  let stack: LoginStack;
  let key: SigningKey;
  let browser: TestBrowser;

  beforeAll(async () => {
    redis = await startRedisServer();
    key = await createSigningKey();
    const dir = tempDir();
    const keysFile = join(dir, 'jwks.json');
    writeFileSync(keysFile, JSON.stringify(jwksOf(key)));
    htpasswd(join(dir, 'htpasswd'), [{ user: 'carol', password: 'basic password' }]);
    stack = await startLoginStack({
      config: {
        jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile },
        basic: { htpasswdFile: join(dir, 'htpasswd') },
        session: { store: 'redis', redis: { url: redis.url, keyPrefix: `outage-${randomBytes(4).toString('hex')}:` } },
      },
    });
    browser = stack.browser();
    await login(browser, 'alice');
  });
  afterAll(async () => {
    await stack.close();
    await stopRedisServers();
  });

  const api = (b: TestBrowser, path = '/data') =>
    b.fetch(`${PUBLIC_URL}${path}`, { headers: { accept: 'application/json' } });
  const bearer = async () => {
    const response = await fetch(`${stack.sidecar.url}/data`, {
      headers: { authorization: `Bearer ${await signToken(key)}` },
    });
    await response.arrayBuffer();
    return response.status;
  };
  const basic = async () => {
    const response = await fetch(`${stack.sidecar.url}/data`, {
      headers: { authorization: basicAuth('carol', 'basic password') },
    });
    await response.arrayBuffer();
    return response.status;
  };
  const readiness = async () => {
    const response = await fetch(`${stack.sidecar.adminUrl}/readyz`);
    return { status: response.status, body: (await response.json()) as { checks: Record<string, { ok: boolean }> } };
  };

  it('works while Redis answers', async () => {
    expect((await api(browser)).status).toBe(200);
    expect((await readiness()).status).toBe(200);
  });

  it('answers 503 + Retry-After within 2 s while Redis is paused, and recovers when it resumes', async () => {
    redis.pause();
    try {
      const [page, ms] = await timed(api(browser));
      expect(page.status).toBe(503);
      expect(page.headers['retry-after']).toBe('1');
      expect(JSON.parse(page.body).error).toBe('session_store_unavailable');
      expect(ms).toBeLessThan(2000);
      // A browser navigation with its cookie: 503 too, not a redirect to the login (no loop).
      const [navigation, navMs] = await timed(browser.fetch(`${PUBLIC_URL}/page`));
      expect(navigation.status).toBe(503);
      expect(navMs).toBeLessThan(2000);
      // The login itself needs the store.
      const [start, startMs] = await timed(stack.browser().fetch(`${PUBLIC_URL}/oauth2/start`));
      expect(start.status).toBe(503);
      expect(start.headers['retry-after']).toBe('1');
      expect(startMs).toBeLessThan(2000);
      // Bearer and basic requests do not need it.
      expect(await bearer()).toBe(200);
      expect(await basic()).toBe(200);
      const ready = await readiness();
      expect(ready.status).toBe(503);
      expect(ready.body.checks.sessionStore?.ok).toBe(false);
    } finally {
      redis.resume();
    }
    await eventually(async () => (await api(browser)).status === 200, 'the session to work again');
    expect((await readiness()).status).toBe(200);
  });

  it('answers 503 within 2 s while Redis is stopped, and recovers when it is back', async () => {
    await redis.stop();
    const [page, ms] = await timed(api(browser));
    expect(page.status).toBe(503);
    expect(page.headers['retry-after']).toBe('1');
    expect(ms).toBeLessThan(2000);
    expect(await bearer()).toBe(200);
    expect(await basic()).toBe(200);
    expect((await readiness()).status).toBe(503);
    await redis.start();
    // This Redis keeps nothing on disk: the session is gone, so the answer is a 401 (a login
    // for a browser), not a 503; and a new login works.
    await eventually(async () => (await api(browser)).status === 401, 'Redis to answer again');
    expect((await readiness()).status).toBe(200);
    const again = await login(stack.browser(), 'alice');
    expect(again[again.length - 1]?.status).toBe(200);
    expect(stack.sidecar.logs.some((l) => l.msg === 'session store unreachable')).toBe(true);
    expect(stack.sidecar.logs.some((l) => l.msg === 'session store reachable again')).toBe(true);
  });
});
