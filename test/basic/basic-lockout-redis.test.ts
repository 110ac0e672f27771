// Lockout shared through Redis by two sidecar processes (one in this process, one started from
// the CLI as a pod starts it), and basic auth during a session-store outage.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServingSidecar, serveCli } from '../support/cli.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { freePort } from '../support/free-port.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import { rawClient, startRedisServer } from '../support/redis-servers.ts';
import { startTestSidecar, type TestSidecar, tempDir } from '../support/sidecar.ts';
import { elapse, eventually } from '../support/wait.ts';

let upstream: EchoUpstream;
let dir: string;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  dir = tempDir();
  htpasswd(join(dir, 'htpasswd'), [
    { user: 'alice', password: 'alice-pw' },
    { user: 'bob', password: 'bob-pw' },
  ]);
});

afterAll(async () => {
  await upstream?.close();
});

function configFor(redisUrl: string, keyPrefix: string) {
  return {
    upstream: { url: upstream.url },
    basic: {
      htpasswdFile: join(dir, 'htpasswd'),
      lockout: { maxFailures: 4, addressMaxFailures: 0, backoffSeconds: 90 },
    },
    session: { store: 'redis', redis: { url: redisUrl, keyPrefix } },
  };
}

async function call(base: string, user: string, password: string): Promise<Response> {
  const res = await fetch(`${base}/api`, { headers: { authorization: basicAuth(user, password) } });
  await res.arrayBuffer();
  return res;
}

/** Until /readyz says the session store answers, counts would go to the local fallback. */
function waitReady(adminUrl: string): Promise<void> {
  return eventually(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, 'the sidecar to be ready');
}

describe('two sidecar processes on one Redis', () => {
  let local: TestSidecar;
  let remote: ServingSidecar;

  beforeAll(async () => {
    const config = configFor('redis://127.0.0.1:6379/0', `test-basic-${randomBytes(6).toString('hex')}:`);
    [local, remote] = await Promise.all([startTestSidecar(config, { dir }), serveCli(config)]);
    await Promise.all([waitReady(local.adminUrl), waitReady(remote.adminUrl)]);
  }, 30_000);

  afterAll(async () => {
    remote?.kill();
    await Promise.all([local?.stop(), remote?.exited]);
  });

  it('share the failure counts: failures on either lock the user name on both', async () => {
    expect((await call(local.url, 'alice', 'alice-pw')).status).toBe(200);
    expect((await call(remote.url, 'alice', 'alice-pw')).status).toBe(200);
    expect((await call(local.url, 'alice', 'guess-1')).status).toBe(401);
    expect((await call(remote.url, 'Alice', 'guess-2')).status).toBe(401);
    expect((await call(local.url, 'ALICE', 'guess-3')).status).toBe(401);
    expect((await call(remote.url, 'alice', 'guess-4')).status).toBe(401);
    for (const base of [local.url, remote.url]) {
      const res = await call(base, 'alice', 'alice-pw');
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(80);
    }
    expect((await call(remote.url, 'bob', 'bob-pw')).status).toBe(200);
  });
});

describe('when the session store is unreachable', () => {
  it('basic auth goes on working, and lockout still holds (counted in this process)', async () => {
    const sidecar = await startTestSidecar(configFor(`redis://127.0.0.1:${await freePort()}/0`, 'x:'), { dir });
    try {
      const ready = await fetch(`${sidecar.adminUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect((await call(sidecar.url, 'bob', 'bob-pw')).status).toBe(200);
      for (let i = 0; i < 4; i++) expect((await call(sidecar.url, 'bob', `guess-${i}`)).status).toBe(401);
      const locked = await call(sidecar.url, 'bob', 'bob-pw');
      expect(locked.status).toBe(429);
      expect(locked.headers.get('retry-after')).toBe('90');
      expect(sidecar.logs.some((l) => String(l.msg).includes('counting failed attempts in this process'))).toBe(true);
    } finally {
      await sidecar.stop();
    }
  });

  it('while Redis hangs, only the first request waits for it; counts go back to Redis once it answers', async () => {
    const redis = await startRedisServer();
    const keyPrefix = `test-hang-${randomBytes(6).toString('hex')}:`;
    const sidecar = await startTestSidecar(configFor(redis.url, keyPrefix), { dir });
    const timed = async (password: string) => {
      const started = performance.now();
      const { status } = await call(sidecar.url, 'bob', password);
      return { status, ms: performance.now() - started };
    };
    try {
      await waitReady(sidecar.adminUrl);
      expect((await timed('bob-pw')).status).toBe(200);
      redis.pause();
      // The first request meets the hung store (its 1 s command timeout) and falls back.
      expect((await timed('bob-pw')).status).toBe(200);
      // Past the 2 s after which the store is asked again: in the background, never by a request.
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        const { status, ms } = await timed('bob-pw');
        expect(status).toBe(200);
        expect(ms).toBeLessThan(700);
        await elapse(100);
      }
      redis.resume();
      await eventually(async () => {
        await timed('bob-pw');
        return sidecar.logs.some((l) => String(l.msg).includes('session store reachable again'));
      }, 'the store to be used again');
      for (let i = 0; i < 4; i++) expect((await timed(`guess-${i}`)).status).toBe(401);
      expect((await timed('bob-pw')).status).toBe(429);
      const client = rawClient(redis.url);
      try {
        expect(await client.keys(`${keyPrefix}basic:locked:*`)).toHaveLength(1);
      } finally {
        client.disconnect();
      }
    } finally {
      redis.resume();
      await sidecar.stop();
      await redis.stop();
    }
  });
});
