// Redis (standalone, Sentinel or Cluster) with ioredis. Tuned to fail fast: when Redis is
// down or paused, a command fails within about a second instead of queueing, so a request
// gets 503 + Retry-After quickly, and the store recovers by itself when Redis returns. Every
// key is prefixed with keyPrefix, so several sidecars (or tests) can share one Redis. ioredis
// is loaded by the first RedisStore: a sidecar with in-memory sessions never loads it.
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { type Config, isTlsNode } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { type Counter, type SessionStore, StoreUnavailableError } from './store.ts';

export type RedisConfig = NonNullable<Config['session']['redis']>;

/** Longest a command waits for an answer, or for a connection that is being (re)made. */
const COMMAND_TIMEOUT_MS = 1000;

// INCR and, on the first increment, set the expiry; in one step so that replicas never race.
const INCREMENT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

// SADD, and extend (never shorten) the set's expiry.
const ADD_MEMBER = `redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

// SMEMBERS and DEL in one step, so a member is handed out once even with several replicas.
const TAKE_MEMBERS = `local members = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
return members`;

const retry = (attempt: number) => Math.min(100 * attempt, 2000);

const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: COMMAND_TIMEOUT_MS,
  retryStrategy: retry,
};

function hostPort(entry: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(entry.replace(/^rediss?:\/\//, ''));
  return match ? { host: match[1] as string, port: Number(match[2]) } : { host: entry, port: 6379 };
}

const keepHostName = (address: string, callback: (error: null, address: string) => void) => callback(null, address);

export interface RedisClientOptions {
  /** Connect on the first command instead of at once (check-config never connects). */
  lazyConnect?: boolean;
}

/** The classes this module uses, from a dynamic import('ioredis'). */
type IORedis = Pick<typeof import('ioredis'), 'Cluster' | 'Redis'>;

function createRedisClient(
  { Cluster, Redis }: IORedis,
  config: RedisConfig,
  options: RedisClientOptions,
): Redis | Cluster {
  const auth = config.password === undefined ? {} : { password: config.password };
  const lazy = { lazyConnect: options.lazyConnect ?? false };
  if (config.cluster) {
    // rediss:// nodes (the config refuses a mix): TLS to every node, the certificate verified
    // against the address as written, since managed clusters (ElastiCache, MemoryDB) issue
    // certificates for their DNS names, not for the IPs a lookup returns.
    const tls = config.cluster.every(isTlsNode);
    return new Cluster(config.cluster.map(hostPort), {
      ...lazy,
      enableOfflineQueue: false,
      clusterRetryStrategy: retry,
      ...(tls ? { dnsLookup: keepHostName } : {}),
      redisOptions: { ...FAIL_FAST, ...auth, ...(tls ? { tls: {} } : {}) },
    });
  }
  if (config.sentinels) {
    return new Redis({
      ...FAIL_FAST,
      ...lazy,
      ...auth,
      sentinels: config.sentinels.map(hostPort),
      name: config.name as string,
      ...(config.sentinelPassword === undefined ? {} : { sentinelPassword: config.sentinelPassword }),
      sentinelRetryStrategy: retry,
    });
  }
  return new Redis(config.url as string, { ...FAIL_FAST, ...lazy, ...auth });
}

export class RedisStore implements SessionStore {
  readonly kind = 'redis';
  /** Set once ioredis has loaded and the client exists. */
  private client: Redis | Cluster | undefined;
  private readonly loading: Promise<Redis | Cluster>;
  private readonly prefix: string;
  private readonly logger: Logger;
  private healthy = true;
  private everReady = false;
  private connecting: Promise<void> | undefined;

  constructor(config: RedisConfig, logger: Logger, options: RedisClientOptions = {}) {
    this.prefix = config.keyPrefix;
    this.logger = logger;
    this.loading = import('ioredis').then((ioredis) => {
      const client = createRedisClient(ioredis, config, options);
      // ioredis reports connection trouble as events; log each outage once, not every retry.
      client.on('error', (error: Error) => this.markDown(error));
      client.once('ready', () => {
        this.everReady = true;
      });
      this.client = client;
      return client;
    });
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.run((client) => client.getBuffer(this.prefix + key));
  }

  async set(key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    await this.run((client) => client.set(this.prefix + key, Buffer.from(value), 'PX', ttlOf(ttlMs)));
  }

  take(key: string): Promise<Uint8Array | null> {
    return this.run((client) => client.getdelBuffer(this.prefix + key));
  }

  async delete(key: string): Promise<void> {
    await this.run((client) => client.del(this.prefix + key));
  }

  async increment(key: string, ttlMs: number): Promise<Counter> {
    const [count, ttl] = (await this.run((client) => client.eval(INCREMENT, 1, this.prefix + key, ttlOf(ttlMs)))) as [
      number,
      number,
    ];
    return { count, ttlMs: Math.max(0, ttl) };
  }

  async peek(key: string): Promise<Counter> {
    const [count, ttl] = await this.run((client) =>
      Promise.all([client.get(this.prefix + key), client.pttl(this.prefix + key)]),
    );
    return { count: Number(count ?? 0), ttlMs: Math.max(0, ttl) };
  }

  async addMember(key: string, member: string, ttlMs: number): Promise<void> {
    await this.run((client) => client.eval(ADD_MEMBER, 1, this.prefix + key, member, ttlOf(ttlMs)));
  }

  async takeMembers(key: string): Promise<string[]> {
    return (await this.run((client) => client.eval(TAKE_MEMBERS, 1, this.prefix + key))) as string[];
  }

  async ping(): Promise<void> {
    await this.run((client) => client.ping());
  }

  async close(): Promise<void> {
    (this.client ?? (await this.loading)).disconnect();
  }

  private async run<T>(command: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    try {
      const client = this.client ?? (await this.loading);
      await this.connected(client);
      const result = await command(client);
      this.markUp();
      return result;
    } catch (error) {
      this.markDown(error as Error);
      throw new StoreUnavailableError(error);
    }
  }

  /**
   * At start-up, waits (briefly) for the first connection: commands would otherwise fail at
   * once, since nothing is queued offline. Once it has been connected, a lost connection fails
   * at once (ioredis reconnects in the background), so an outage costs no request a wait.
   */
  private connected(client: Redis | Cluster): Promise<void> {
    if (client.status === 'ready') return Promise.resolve();
    if (this.everReady) return Promise.reject(new Error(`not connected (${client.status})`));
    if (client.status === 'wait') client.connect().catch(() => {}); // lazyConnect: first use
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        client.off('ready', onReady);
        this.connecting = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => done();
      const timer = setTimeout(() => done(new Error(`not connected (${client.status})`)), COMMAND_TIMEOUT_MS);
      timer.unref();
      client.once('ready', onReady);
    });
    return this.connecting;
  }

  private markDown(error: Error): void {
    if (!this.healthy) return;
    this.healthy = false;
    this.logger.warn({ reason: error.message }, 'session store unreachable');
  }

  private markUp(): void {
    if (this.healthy) return;
    this.healthy = true;
    this.logger.info('session store reachable again');
  }
}

function ttlOf(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}
