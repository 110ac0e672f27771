// One contract, every SessionStore: memory, Redis (one server), Redis through Sentinel, and
// Redis Cluster. Each runs against the real thing; Redis tests use a random key prefix.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { MemoryStore } from '../../src/sessions/memory-store.ts';
import { type RedisConfig, RedisStore } from '../../src/sessions/redis-store.ts';
import { type SessionStore, StoreUnavailableError } from '../../src/sessions/store.ts';
import {
  type ClusterSetup,
  rawClient,
  type SentinelSetup,
  startCluster,
  startRedisServer,
  startSentinel,
  stopRedisServers,
} from '../support/redis-servers.ts';
import { tempDir } from '../support/sidecar.ts';
import { elapse } from '../support/wait.ts';

const logger = createLogger({ level: 'silent' });
const bytes = (text: string) => new TextEncoder().encode(text);

function redisConfig(settings: Partial<RedisConfig>): RedisConfig {
  return { keyPrefix: `test-${randomBytes(6).toString('hex')}:`, ...settings };
}

function contract(name: string, open: () => Promise<SessionStore> | SessionStore) {
  // Every test uses keys of its own, so they run concurrently (their waits overlap).
  describe.concurrent(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(() => store.close());

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('returns null for a key never set', async () => {
      expect(await store.get('absent')).toBeNull();
      expect(await store.take('absent')).toBeNull();
    });

    it('keeps bytes exactly, including NUL and non-UTF-8 bytes', async () => {
      const value = new Uint8Array([0, 255, 1, 0xc3, 0x28, 0, 10]);
      await store.set('bytes', value, 10_000);
      const read = await store.get('bytes');
      expect(read).toBeInstanceOf(Uint8Array);
      expect([...(read as Uint8Array)]).toEqual([...value]);
    });

    it('does not let a caller change a stored value through the array it passed or got', async () => {
      const value = bytes('original');
      await store.set('copy', value, 10_000);
      value[0] = 0;
      const read = (await store.get('copy')) as Uint8Array;
      read[1] = 0;
      expect(new TextDecoder().decode((await store.get('copy')) as Uint8Array)).toBe('original');
    });

    it('copies a Buffer too (whose slice() is a view, not a copy)', async () => {
      const value = Buffer.from('original');
      await store.set('buffer-copy', value, 10_000);
      value[0] = 0;
      const read = (await store.get('buffer-copy')) as Uint8Array;
      read[1] = 0;
      expect(new TextDecoder().decode((await store.get('buffer-copy')) as Uint8Array)).toBe('original');
    });

    it('overwrites a value and deletes it', async () => {
      await store.set('over', bytes('one'), 10_000);
      await store.set('over', bytes('two'), 10_000);
      expect(new TextDecoder().decode((await store.get('over')) as Uint8Array)).toBe('two');
      await store.delete('over');
      expect(await store.get('over')).toBeNull();
      await expect(store.delete('over')).resolves.toBeUndefined();
    });

    it('forgets a value after its TTL', async () => {
      await store.set('short', bytes('x'), 80);
      expect(await store.get('short')).not.toBeNull();
      await elapse(150);
      expect(await store.get('short')).toBeNull();
    });

    it('hands out a value to exactly one of many concurrent takes', async () => {
      await store.set('once', bytes('state'), 10_000);
      const results = await Promise.all(Array.from({ length: 10 }, () => store.take('once')));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect(await store.get('once')).toBeNull();
    });

    it('counts from the first increment, with a TTL that later increments do not extend', async () => {
      expect(await store.peek('counter')).toEqual({ count: 0, ttlMs: 0 });
      const first = await store.increment('counter', 400);
      expect(first.count).toBe(1);
      expect(first.ttlMs).toBeGreaterThan(300);
      expect(first.ttlMs).toBeLessThanOrEqual(400);
      await elapse(150);
      const second = await store.increment('counter', 400);
      expect(second.count).toBe(2);
      expect(second.ttlMs).toBeLessThanOrEqual(first.ttlMs - 100);
      const peeked = await store.peek('counter');
      expect(peeked.count).toBe(2);
      await elapse(350);
      expect(await store.peek('counter')).toEqual({ count: 0, ttlMs: 0 });
      expect((await store.increment('counter', 400)).count).toBe(1);
    });

    it('gives concurrent increments distinct values', async () => {
      const counts = await Promise.all(Array.from({ length: 20 }, () => store.increment('race', 10_000)));
      expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('deletes a counter with delete', async () => {
      await store.increment('to-delete', 10_000);
      await store.delete('to-delete');
      expect((await store.peek('to-delete')).count).toBe(0);
    });

    it('keeps a set of members, hands them out once, and empties it', async () => {
      await store.addMember('index', 'a', 10_000);
      await store.addMember('index', 'b', 10_000);
      await store.addMember('index', 'a', 10_000);
      expect((await store.takeMembers('index')).sort()).toEqual(['a', 'b']);
      expect(await store.takeMembers('index')).toEqual([]);
      expect(await store.takeMembers('never')).toEqual([]);
    });

    it('gives a set the longest TTL any addition asked for', async () => {
      await store.addMember('lasting', 'long', 600);
      await store.addMember('lasting', 'short', 50);
      await elapse(150);
      expect((await store.takeMembers('lasting')).sort()).toEqual(['long', 'short']);
      await store.addMember('fleeting', 'x', 60);
      await elapse(150);
      expect(await store.takeMembers('fleeting')).toEqual([]);
    });

    it('hands out a set to exactly one of concurrent takers', async () => {
      await store.addMember('shared-index', 'only', 10_000);
      const results = await Promise.all(Array.from({ length: 5 }, () => store.takeMembers('shared-index')));
      expect(results.flat()).toEqual(['only']);
    });
  });
}

contract('memory', () => new MemoryStore());

describe('MemoryStore bounds', () => {
  it('drops the least recently used entries beyond its size', async () => {
    const store = new MemoryStore(3);
    for (const key of ['a', 'b', 'c', 'd']) await store.set(key, bytes(key), 10_000);
    expect(await store.get('a')).toBeNull();
    expect(await store.get('d')).not.toBeNull();
  });

  it('bounds each namespace on its own: a flood of login attempts never evicts a session', async () => {
    const store = new MemoryStore(3);
    await store.set('session:alice', bytes('sealed'), 10_000);
    await store.addMember('index:sub:alice', 'alice', 10_000);
    // What anyone can create without signing in: login attempts, failed basic logins.
    for (let i = 0; i < 10; i++) {
      await store.set(`login:${i}`, bytes('attempt'), 10_000);
      await store.increment(`basic:failures:${i}`, 10_000);
      await store.set(`basic:locked:${i}`, bytes('1'), 10_000);
    }
    expect(await store.get('session:alice')).not.toBeNull();
    expect(await store.takeMembers('index:sub:alice')).toEqual(['alice']);
    expect(await store.get('login:0')).toBeNull();
    expect(await store.get('login:9')).not.toBeNull();
  });
});

contract('redis (one server)', () => new RedisStore(redisConfig({ url: 'redis://127.0.0.1:6379/0' }), logger));

describe('RedisStore keys', () => {
  it('writes every key under its keyPrefix and sees no other prefix', async () => {
    const config = redisConfig({ url: 'redis://127.0.0.1:6379' });
    const store = new RedisStore(config, logger);
    const other = new RedisStore(redisConfig({ url: 'redis://127.0.0.1:6379' }), logger);
    const raw = rawClient();
    try {
      await store.set('k', bytes('v'), 10_000);
      await store.increment('n', 10_000);
      await store.addMember('s', 'm', 10_000);
      expect((await raw.keys(`${config.keyPrefix}*`)).sort()).toEqual(
        [`${config.keyPrefix}k`, `${config.keyPrefix}n`, `${config.keyPrefix}s`].sort(),
      );
      expect(await other.get('k')).toBeNull();
      expect(await raw.pttl(`${config.keyPrefix}k`)).toBeGreaterThan(9_000);
    } finally {
      await raw.del(`${config.keyPrefix}k`, `${config.keyPrefix}n`, `${config.keyPrefix}s`);
      raw.disconnect();
      await store.close();
      await other.close();
    }
  });
});

describe('RedisStore with a password', () => {
  it('authenticates with session.redis.passwordFile, and fails closed without it', async () => {
    const redis = await startRedisServer(['--requirepass', 'a redis password']);
    const dir = tempDir();
    writeFileSync(join(dir, 'redis-password'), 'a redis password\n');
    writeFileSync(
      join(dir, 'config.yaml'),
      stringify({
        upstream: { url: 'http://127.0.0.1:5000' },
        jwt: { audience: 'a', jwksUri: 'https://idp.test/jwks' },
        session: { store: 'redis', redis: { url: redis.url, passwordFile: 'redis-password', keyPrefix: 'pw:' } },
      }),
    );
    const { config } = loadConfig({ file: join(dir, 'config.yaml'), env: {} });
    const store = new RedisStore(config.session.redis as RedisConfig, logger);
    const anonymous = new RedisStore(redisConfig({ url: redis.url }), logger);
    try {
      await store.set('k', bytes('v'), 10_000);
      expect(new TextDecoder().decode((await store.get('k')) as Uint8Array)).toBe('v');
      await expect(anonymous.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
      await anonymous.close();
    }
  });
});

let sentinel: SentinelSetup | undefined;
let cluster: ClusterSetup | undefined;

contract('redis through Sentinel', async () => {
  sentinel = await startSentinel();
  return new RedisStore(redisConfig({ sentinels: sentinel.sentinels, name: sentinel.name }), logger);
});

contract('redis Cluster', async () => {
  cluster = await startCluster();
  return new RedisStore(redisConfig({ cluster: cluster.nodes }), logger);
});

afterAll(async () => {
  await stopRedisServers();
});
