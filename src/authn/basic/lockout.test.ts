// Lockout counting against the real stores: memory, and Redis shared by two clients (as two
// replicas share it), plus what happens when Redis cannot be reached.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { TooManyAttemptsError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';
import { createMetrics } from '../../observability/metrics.ts';
import { MemoryStore } from '../../sessions/memory-store.ts';
import { RedisStore } from '../../sessions/redis-store.ts';
import type { SessionStore } from '../../sessions/store.ts';
import { Lockout, type LockoutSettings } from './lockout.ts';

const SETTINGS: LockoutSettings = { maxFailures: 3, addressMaxFailures: 5, windowMs: 60_000, backoffMs: 30_000 };
const logger = createLogger({ level: 'silent' });
const stores: SessionStore[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

function redisStore(prefix: string, url = 'redis://127.0.0.1:6379/0'): RedisStore {
  const store = new RedisStore({ url, keyPrefix: prefix }, logger);
  stores.push(store);
  return store;
}

/** A Redis store that is connected: a test of shared counts must not run on the fallback. */
async function connectedRedisStore(prefix: string): Promise<RedisStore> {
  const store = redisStore(prefix);
  for (let attempt = 0; ; attempt++) {
    try {
      await store.ping();
      return store;
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function retryAfter(lockout: Lockout, user: string, address: string): Promise<number | undefined> {
  try {
    await lockout.ensureAllowed(user, address);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(TooManyAttemptsError);
    expect((error as TooManyAttemptsError).status).toBe(429);
    return Number((error as TooManyAttemptsError).headers['Retry-After']);
  }
}

async function fail(lockout: Lockout, user: string, address: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await lockout.recordFailure(user, address);
}

const kinds: [string, () => Promise<SessionStore>][] = [
  ['memory', async () => new MemoryStore()],
  ['redis', () => connectedRedisStore(`test-lockout-${randomBytes(6).toString('hex')}:`)],
];

describe.each(kinds)('with the %s store', (_kind, makeStore) => {
  it('locks a user name once its failures reach the limit, for the backoff window', async () => {
    const metrics = createMetrics();
    const lockout = new Lockout(SETTINGS, await makeStore(), logger, metrics);
    await fail(lockout, 'alice', '10.0.0.1', 2);
    expect(await retryAfter(lockout, 'alice', '10.0.0.1')).toBeUndefined();
    await fail(lockout, 'alice', '10.0.0.2', 1);
    expect(await retryAfter(lockout, 'alice', '10.0.0.3')).toBe(30);
    expect(await retryAfter(lockout, 'bob', '10.0.0.3')).toBeUndefined();
    expect((await metrics.registry.getSingleMetricAsString('auth_sidecar_basic_lockouts_total')).trim()).toContain(
      'auth_sidecar_basic_lockouts_total{scope="user"} 1',
    );
  });

  it('folds case: Admin, ADMIN and admin are one user name', async () => {
    const lockout = new Lockout(SETTINGS, await makeStore(), logger, createMetrics());
    await lockout.recordFailure('Admin', '10.0.1.1');
    await lockout.recordFailure('ADMIN', '10.0.1.2');
    await lockout.recordFailure('admin', '10.0.1.3');
    expect(await retryAfter(lockout, 'aDmIn', '10.0.1.4')).toBe(30);
  });

  it('locks a client address that fails across many user names', async () => {
    const lockout = new Lockout(SETTINGS, await makeStore(), logger, createMetrics());
    for (let i = 0; i < 5; i++) await lockout.recordFailure(`user${i}`, '192.0.2.7');
    expect(await retryAfter(lockout, 'someone-else', '192.0.2.7')).toBe(30);
    expect(await retryAfter(lockout, 'someone-else', '192.0.2.8')).toBeUndefined();
  });

  it('counts an IPv6 client by its /64', async () => {
    const lockout = new Lockout(SETTINGS, await makeStore(), logger, createMetrics());
    for (let i = 0; i < 5; i++) await lockout.recordFailure(`v6user${i}`, `2001:db8:1:2::${i + 1}`);
    expect(await retryAfter(lockout, 'x', '2001:db8:1:2:ffff::9')).toBe(30);
    expect(await retryAfter(lockout, 'x', '2001:db8:1:3::1')).toBeUndefined();
  });

  it("clears a user's failures when the right password is given", async () => {
    const lockout = new Lockout(SETTINGS, await makeStore(), logger, createMetrics());
    await fail(lockout, 'carol', '10.0.2.1', 2);
    await lockout.recordSuccess('Carol');
    await fail(lockout, 'carol', '10.0.2.1', 2);
    expect(await retryAfter(lockout, 'carol', '10.0.2.1')).toBeUndefined();
  });

  it('forgets failures after the window and lifts a lock after the backoff', async () => {
    const short = { maxFailures: 2, addressMaxFailures: 0, windowMs: 150, backoffMs: 300 };
    const lockout = new Lockout(short, await makeStore(), logger, createMetrics());
    await lockout.recordFailure('dave', '10.0.3.1');
    await new Promise((r) => setTimeout(r, 250));
    await lockout.recordFailure('dave', '10.0.3.1');
    expect(await retryAfter(lockout, 'dave', '10.0.3.1')).toBeUndefined();
    await lockout.recordFailure('dave', '10.0.3.1');
    expect(await retryAfter(lockout, 'dave', '10.0.3.1')).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(await retryAfter(lockout, 'dave', '10.0.3.1')).toBeUndefined();
  });

  it('turns each limit off with 0', async () => {
    const off = { maxFailures: 0, addressMaxFailures: 0, windowMs: 60_000, backoffMs: 60_000 };
    const lockout = new Lockout(off, await makeStore(), logger, createMetrics());
    await fail(lockout, 'erin', '10.0.4.1', 50);
    expect(await retryAfter(lockout, 'erin', '10.0.4.1')).toBeUndefined();
  });
});

describe('with Redis shared by two replicas', () => {
  it('counts the failures seen by both: the lock holds on each', async () => {
    const prefix = `test-lockout-${randomBytes(6).toString('hex')}:`;
    const one = new Lockout(SETTINGS, await connectedRedisStore(prefix), logger, createMetrics());
    const two = new Lockout(SETTINGS, await connectedRedisStore(prefix), logger, createMetrics());
    await one.recordFailure('frank', '10.0.5.1');
    await two.recordFailure('FRANK', '10.0.5.2');
    expect(await retryAfter(one, 'frank', '10.0.5.3')).toBeUndefined();
    await one.recordFailure('frank', '10.0.5.3');
    expect(await retryAfter(two, 'frank', '10.0.5.4')).toBe(30);
    expect(await retryAfter(one, 'frank', '10.0.5.4')).toBe(30);
  });
});

describe('across a reload with the in-memory store', () => {
  it('keeps the locks the old Lockout set: the new one on the same store still refuses', async () => {
    const store = new MemoryStore();
    const before = new Lockout(SETTINGS, store, logger, createMetrics());
    await fail(before, 'gina', '10.0.6.1', 3);
    const after = new Lockout(SETTINGS, store, logger, createMetrics());
    expect(await retryAfter(after, 'gina', '10.0.6.2')).toBe(30);
    expect(await retryAfter(after, 'hank', '10.0.6.2')).toBeUndefined();
  });
});

describe('when the session store cannot be reached', () => {
  it('goes on counting in this process, so basic auth keeps working and lockout stays on', async () => {
    const port = await freePort();
    const lines: Record<string, unknown>[] = [];
    const captured = createLogger({
      level: 'info',
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    });
    const lockout = new Lockout(SETTINGS, redisStore('x:', `redis://127.0.0.1:${port}/0`), captured, createMetrics());
    expect(await retryAfter(lockout, 'gina', '10.0.6.1')).toBeUndefined();
    await fail(lockout, 'gina', '10.0.6.1', 3);
    expect(await retryAfter(lockout, 'gina', '10.0.6.1')).toBe(30);
    const warnings = lines.filter((l) => String(l.msg).includes('session store unreachable'));
    expect(warnings).toHaveLength(1);
  });
});
