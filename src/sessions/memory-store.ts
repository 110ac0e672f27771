// The embedded store: bounded (least recently used entries go first), with a TTL per key. One
// replica only: use Redis to share sessions between replicas. Values are copied in and out,
// so a caller can never change what another one reads, as with Redis.
// The bound applies per namespace (the key up to its first ":", such as "session", "login",
// "basic"), so that what anyone can create without signing in (login attempts at /start,
// failed basic logins) only ever evicts more of the same, never the sessions of signed-in users.
import { LRUCache } from 'lru-cache';
import type { Counter, SessionStore } from './store.ts';

interface Expiring {
  expiresAt: number;
}

interface CounterEntry extends Expiring {
  count: number;
}

interface SetEntry extends Expiring {
  members: Set<string>;
}

/** A set holds at most this many members; the oldest go first (an index, not a log). */
const MAX_MEMBERS = 1000;

export class MemoryStore implements SessionStore {
  readonly kind = 'memory';
  private readonly values: Namespaces<Uint8Array>;
  private readonly counters: Namespaces<CounterEntry>;
  private readonly sets: Namespaces<SetEntry>;

  /** `maxEntries` bounds each namespace of each kind of entry (values, counters, sets). */
  constructor(maxEntries = 100_000) {
    this.values = new Namespaces(maxEntries);
    this.counters = new Namespaces(maxEntries);
    this.sets = new Namespaces(maxEntries);
  }

  async get(key: string): Promise<Uint8Array | null> {
    const value = this.values.get(key);
    return value === undefined ? null : copyOf(value);
  }

  async set(key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    this.values.set(key, copyOf(value), { ttl: ttlOf(ttlMs) });
  }

  async take(key: string): Promise<Uint8Array | null> {
    const value = this.values.get(key) ?? null;
    this.values.delete(key);
    return value;
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
    this.counters.delete(key);
    this.sets.delete(key);
  }

  async increment(key: string, ttlMs: number): Promise<Counter> {
    const now = Date.now();
    const entry = live(this.counters.get(key), now) ?? { count: 0, expiresAt: now + ttlOf(ttlMs) };
    entry.count++;
    this.counters.set(key, entry, { ttl: ttlOf(entry.expiresAt - now) });
    return { count: entry.count, ttlMs: entry.expiresAt - now };
  }

  async peek(key: string): Promise<Counter> {
    const now = Date.now();
    const entry = live(this.counters.get(key), now);
    return entry ? { count: entry.count, ttlMs: entry.expiresAt - now } : { count: 0, ttlMs: 0 };
  }

  async addMember(key: string, member: string, ttlMs: number): Promise<void> {
    const now = Date.now();
    const entry = live(this.sets.get(key), now) ?? { members: new Set<string>(), expiresAt: 0 };
    entry.members.delete(member);
    entry.members.add(member);
    if (entry.members.size > MAX_MEMBERS) entry.members.delete(entry.members.values().next().value as string);
    entry.expiresAt = Math.max(entry.expiresAt, now + ttlOf(ttlMs));
    this.sets.set(key, entry, { ttl: entry.expiresAt - now });
  }

  async takeMembers(key: string): Promise<string[]> {
    const entry = live(this.sets.get(key), Date.now());
    this.sets.delete(key);
    return entry ? [...entry.members] : [];
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.values.clear();
    this.counters.clear();
    this.sets.clear();
  }
}

/**
 * A copy in memory of its own, exactly its size. Buffer's slice() is a view, not a copy, and a
 * small Buffer is a view into a shared 8 KB slab: keeping the view kept the whole slab alive,
 * 8.9 KB held per 2.6 KB session (bench/footprint.ts).
 */
function copyOf(value: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(value);
}

function ttlOf(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

function live<T extends Expiring>(entry: T | undefined, now: number): T | undefined {
  return entry && entry.expiresAt > now ? entry : undefined;
}

/** One LRU per namespace (the key up to its first ":"), each bounded on its own. */
class Namespaces<V extends object> {
  private readonly maxEntries: number;
  private readonly caches = new Map<string, LRUCache<string, V>>();

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  get(key: string): V | undefined {
    return this.cache(key).get(key);
  }

  set(key: string, value: V, options: { ttl: number }): void {
    this.cache(key).set(key, value, options);
  }

  delete(key: string): void {
    this.cache(key).delete(key);
  }

  clear(): void {
    this.caches.clear();
  }

  private cache(key: string): LRUCache<string, V> {
    const at = key.indexOf(':');
    const name = at === -1 ? '' : key.slice(0, at);
    let cache = this.caches.get(name);
    if (cache === undefined) {
      cache = new LRUCache({ max: this.maxEntries, ttlAutopurge: false });
      this.caches.set(name, cache);
    }
    return cache;
  }
}
