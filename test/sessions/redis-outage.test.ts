// A Redis that stops answering: paused (SIGSTOP, the connection stays open and silent) or
// stopped (connection refused). Commands must fail within 2 s with StoreUnavailableError
// (503 + Retry-After upstream of here), never hang; and the store must come back by itself.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { RedisStore } from '../../src/sessions/redis-store.ts';
import { StoreUnavailableError } from '../../src/sessions/store.ts';
import { type RedisProcess, startRedisServer, stopRedisServers } from '../support/redis-servers.ts';
import { elapse, eventually } from '../support/wait.ts';

const logger = createLogger({ level: 'silent' });

async function failsWithin(operation: Promise<unknown>): Promise<number> {
  const started = performance.now();
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreUnavailableError);
  expect((error as StoreUnavailableError).status).toBe(503);
  expect((error as StoreUnavailableError).headers['Retry-After']).toBe('1');
  return performance.now() - started;
}

function recovers(store: RedisStore): Promise<void> {
  return eventually(() => store.ping().then(() => true), 'the store to answer again');
}

describe('RedisStore when Redis goes away', () => {
  let redis: RedisProcess;
  let store: RedisStore;

  beforeAll(async () => {
    redis = await startRedisServer();
    store = new RedisStore({ url: redis.url, keyPrefix: `outage-${randomBytes(4).toString('hex')}:` }, logger);
    await store.set('kept', new Uint8Array([1]), 60_000);
  });

  afterAll(async () => {
    await store.close();
    await stopRedisServers();
  });

  it('fails within 2 s while Redis is paused, and works again once it resumes', async () => {
    redis.pause();
    try {
      expect(await failsWithin(store.get('kept'))).toBeLessThan(2000);
      expect(await failsWithin(store.ping())).toBeLessThan(2000);
      // Several requests at once: none waits longer than the first.
      const waits = await Promise.all(
        [store.get('kept'), store.take('x'), store.increment('c', 1000)].map(failsWithin),
      );
      for (const wait of waits) expect(wait).toBeLessThan(2000);
    } finally {
      redis.resume();
    }
    await recovers(store);
    expect([...((await store.get('kept')) ?? [])]).toEqual([1]);
  });

  it('fails within 2 s while Redis is stopped, and reconnects by itself when it is back', async () => {
    await redis.stop();
    expect(await failsWithin(store.get('kept'))).toBeLessThan(2000);
    // While ioredis keeps reconnecting, each command still fails fast.
    await elapse(300);
    expect(await failsWithin(store.set('k', new Uint8Array([2]), 1000))).toBeLessThan(2000);
    await redis.start();
    await recovers(store);
    await store.set('after', new Uint8Array([3]), 10_000);
    expect([...((await store.get('after')) ?? [])]).toEqual([3]);
  });
});
