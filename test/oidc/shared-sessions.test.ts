// Two sidecar processes (replicas of the pod) with the same Redis and cookie secret: a login
// may start on one and finish on the other, each accepts the other's sessions, a sign-out on
// one ends the session on both, and Redis holds no readable token or claim.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from '../support/browser.ts';
import { type ServingSidecar, serveCli } from '../support/cli.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import {
  COOKIE_SECRET,
  callbackUrl,
  clientFor,
  login,
  PUBLIC_HOST,
  PUBLIC_URL,
  sidecarConfig,
} from '../support/login-stack.ts';
import { startOidcProvider, type TestProvider } from '../support/oidc-provider.ts';
import { rawClient } from '../support/redis-servers.ts';

describe('two sidecar processes sharing Redis', () => {
  let provider: TestProvider;
  let upstream: EchoUpstream;
  let a: ServingSidecar;
  let b: ServingSidecar;
  const keyPrefix = `shared-${randomBytes(6).toString('hex')}:`;
  const redis = rawClient();

  beforeAll(async () => {
    provider = await startOidcProvider();
    upstream = await startEchoUpstream();
    const config = sidecarConfig(provider.issuer, upstream.url, {
      oidc: { passAccessToken: true },
      session: {
        cookie: { secret: COOKIE_SECRET },
        store: 'redis',
        redis: { url: 'redis://127.0.0.1:6379', keyPrefix },
      },
    });
    [a, b] = await Promise.all([serveCli(config), serveCli(config)]);
    provider.addClient(clientFor((a as ServingSidecar).url));
  });
  afterAll(async () => {
    a?.kill();
    b?.kill();
    expect(await Promise.all([a?.exited, b?.exited])).toEqual([0, 0]);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await upstream.close();
    await provider.close();
  });

  /** The same browser (its cookies), reaching app.test through replica A or B. */
  const through = (replica: ServingSidecar, from?: TestBrowser) => {
    const browser = new TestBrowser({ [PUBLIC_HOST]: replica.url });
    for (const [host, cookies] of from?.jar ?? []) browser.jar.set(host, cookies);
    return browser;
  };

  it('accepts on B a session made on A, and ends it on both when B signs out', async () => {
    const onA = through(a);
    const hops = await login(onA, 'alice', '/hello');
    expect(hops[hops.length - 1]?.status).toBe(200);
    const onB = through(b, onA);
    const page = await onB.fetch(`${PUBLIC_URL}/from-b`);
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body).headers['x-forwarded-user']).toEqual(['alice']);
    const signOut = await onB.fetch(`${PUBLIC_URL}/oauth2/sign_out`);
    expect(signOut.status).toBe(302);
    const cookie = onA.cookie(PUBLIC_HOST, '_auth_sidecar') as string;
    const replay = await through(a).fetch(`${PUBLIC_URL}/from-a`, {
      headers: { accept: 'application/json', cookie: `_auth_sidecar=${cookie}` },
    });
    expect(replay.status).toBe(401);
  });

  it('finishes on B a login that started on A', async () => {
    const onA = through(a);
    const url = await callbackUrl(onA, '/started-on-a');
    const callback = await through(b, onA).fetch(url);
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${PUBLIC_URL}/started-on-a`);
  });

  it('stores nothing readable in Redis: no token, no claim', async () => {
    const browser = through(a);
    const hops = await login(browser, 'bob', '/token');
    const accessToken = JSON.parse(hops[hops.length - 1]?.body ?? '{}').headers[
      'x-forwarded-access-token'
    ][0] as string;
    expect(accessToken.length).toBeGreaterThan(10);
    const keys = await redis.keys(`${keyPrefix}*`);
    expect(keys.some((k) => k.startsWith(`${keyPrefix}session:`))).toBe(true);
    for (const key of keys) {
      const type = await redis.type(key);
      const values = type === 'string' ? [await redis.getBuffer(key)] : type === 'set' ? await redis.smembers(key) : [];
      for (const value of values) {
        const text = Buffer.from(value ?? '').toString('latin1');
        for (const secret of [accessToken, 'eyJ', 'bob@example.com', '"sub"', 'staff']) {
          expect(text.includes(secret), `${key} holds ${secret}`).toBe(false);
        }
      }
      expect(key.includes('bob')).toBe(false);
    }
  });
});
