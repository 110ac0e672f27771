// Brute-force lockout for basic credentials. Failed attempts are counted per user name
// (case-folded: `Admin` and `admin` are one) and per client address (an IPv6 client by its /64,
// which one host usually holds whole), in the session store, so that with Redis every replica
// shares the counts. Past a limit, the name or address is refused with 429 + Retry-After for
// the backoff window, before any hash work and whether or not the user exists.
//
// When the session store does not answer, basic auth must go on working (the contract), so the
// counts fall back to this process's memory for a few seconds at a time: lockout stays on, per
// replica, instead of either failing every basic request (fail closed) or dropping the limit
// altogether (fail open).
import { createHash } from 'node:crypto';
import { TooManyAttemptsError } from '../../errors.ts';
import { addressId } from '../../net/address.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { MemoryStore } from '../../sessions/memory-store.ts';
import { type SessionStore, StoreUnavailableError } from '../../sessions/store.ts';

export interface LockoutSettings {
  /** Failures allowed per user name within the window; 0: no per-user limit. */
  readonly maxFailures: number;
  /** Failures allowed per client address within the window; 0: no per-address limit. */
  readonly addressMaxFailures: number;
  readonly windowMs: number;
  readonly backoffMs: number;
}

type Scope = 'user' | 'address';

interface Subject {
  readonly scope: Scope;
  readonly id: string;
  readonly limit: number;
}

/**
 * How long the local counts stand in for an unreachable store before it is asked again (in the
 * background: requests never wait for a hung store's command timeout after the first one).
 */
const STORE_RETRY_MS = 2000;
const LOCAL_ENTRIES = 10_000;
/**
 * When the last lock set in an in-memory store ends, by store: a reload builds a new Lockout on
 * the same store, and must still see the locks the old one set.
 */
const LOCKED_UNTIL = new WeakMap<SessionStore, number>();

export class Lockout {
  private readonly settings: LockoutSettings;
  private readonly store: SessionStore;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private local: MemoryStore | undefined;
  private storeDownUntil = 0;
  /** Password checks under way in this process, by failure-counter key. */
  private readonly pending = new Map<string, number>();

  constructor(settings: LockoutSettings, store: SessionStore, logger: Logger, metrics: Metrics) {
    this.settings = settings;
    this.store = store;
    this.logger = logger;
    this.metrics = metrics;
  }

  /** Throws TooManyAttemptsError while the user name or the address is locked. */
  async ensureAllowed(user: string, address: string): Promise<void> {
    // In-memory counts are this process's alone: no lock it did not set can exist, so while
    // none it set is running the store is not asked (every cached basic request asks this).
    if (this.store.kind === 'memory' && Date.now() >= (LOCKED_UNTIL.get(this.store) ?? 0)) return;
    const subjects = this.subjects(user, address);
    if (subjects.length === 0) return;
    const locks = await this.withStore((store) => Promise.all(subjects.map((s) => store.get(lockKey(s)))));
    const now = Date.now();
    const until = Math.max(0, ...locks.map((value) => (value ? Number(Buffer.from(value).toString()) : 0)));
    if (until > now) throw new TooManyAttemptsError((until - now) / 1000);
  }

  /**
   * Runs one password check, unless the subject's failures plus the checks already under way
   * in this process would pass its limit: then 429 at once, without hash work. Without this,
   * attempts sent concurrently all pass ensureAllowed before any failure is counted, and a
   * burst of a thousand guesses is checked in full against a limit of five.
   */
  async guard<T>(user: string, address: string, check: () => Promise<T>): Promise<T> {
    const subjects = this.subjects(user, address);
    if (subjects.length === 0) return check();
    const keys = subjects.map(failureKey);
    // Taken before the first await, so that concurrent attempts see each other.
    const positions = keys.map((key) => this.reserve(key));
    try {
      // The locks again too: an attempt that passed ensureAllowed just before a lock was set
      // would otherwise find the count reset to 0 and be checked.
      const [counts] = await Promise.all([
        this.withStore((store) => Promise.all(keys.map((key) => store.peek(key)))),
        this.ensureAllowed(user, address),
      ]);
      if (subjects.some((s, i) => (counts[i]?.count ?? 0) + (positions[i] ?? 0) > s.limit)) {
        // The checks under way decide within a second whether the subject is locked.
        throw new TooManyAttemptsError(1);
      }
      return await check();
    } finally {
      for (const key of keys) this.release(key);
    }
  }

  /** Counts a failed attempt; locks each subject whose count reaches its limit. */
  async recordFailure(user: string, address: string): Promise<void> {
    const { windowMs, backoffMs } = this.settings;
    await this.withStore(async (store) => {
      for (const subject of this.subjects(user, address)) {
        const { count } = await store.increment(failureKey(subject), windowMs);
        if (count < subject.limit) continue;
        const until = Date.now() + backoffMs;
        if (store.kind === 'memory') LOCKED_UNTIL.set(store, Math.max(LOCKED_UNTIL.get(store) ?? 0, until));
        await store.set(lockKey(subject), Buffer.from(String(until)), backoffMs);
        // A fresh count after the backoff: the next window starts clean.
        await store.delete(failureKey(subject));
        this.metrics.basicLockouts.inc({ scope: subject.scope });
        this.logger.warn(
          { scope: subject.scope, user: user.slice(0, 64), address, backoffSeconds: backoffMs / 1000 },
          'basic auth: too many failed attempts; locked for the backoff window',
        );
      }
    });
  }

  /** A correct password clears the user name's failures (not the address's). */
  async recordSuccess(user: string): Promise<void> {
    if (this.settings.maxFailures === 0) return;
    const subject = userSubject(user, this.settings.maxFailures);
    await this.withStore((store) => store.delete(failureKey(subject)));
  }

  /** This attempt's place among the checks under way for a subject (1 for the only one). */
  private reserve(key: string): number {
    const position = (this.pending.get(key) ?? 0) + 1;
    this.pending.set(key, position);
    return position;
  }

  private release(key: string): void {
    const left = (this.pending.get(key) ?? 1) - 1;
    if (left > 0) this.pending.set(key, left);
    else this.pending.delete(key);
  }

  private subjects(user: string, address: string): Subject[] {
    const subjects: Subject[] = [];
    if (this.settings.maxFailures > 0) subjects.push(userSubject(user, this.settings.maxFailures));
    if (this.settings.addressMaxFailures > 0 && address !== '') {
      subjects.push({ scope: 'address', id: addressId(address), limit: this.settings.addressMaxFailures });
    }
    return subjects;
  }

  private async withStore<T>(operation: (store: SessionStore) => Promise<T>): Promise<T> {
    if (this.storeDownUntil === 0) {
      try {
        return await operation(this.store);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        // Once per outage, though every request in flight when it began fails here.
        if (this.storeDownUntil === 0) {
          this.logger.warn('basic auth: session store unreachable; counting failed attempts in this process');
        }
        this.storeDownUntil = Date.now() + STORE_RETRY_MS;
      }
    } else if (Date.now() >= this.storeDownUntil) {
      this.probeStore();
    }
    this.local ??= new MemoryStore(LOCAL_ENTRIES);
    return operation(this.local);
  }

  /**
   * Asks the store again in the background: a hung Redis answers only at its command timeout,
   * and no basic request should wait for that while the local counts stand in.
   */
  private probeStore(): void {
    this.storeDownUntil = Date.now() + STORE_RETRY_MS;
    this.store.ping().then(
      () => {
        this.storeDownUntil = 0;
        this.logger.info('basic auth: session store reachable again; failed attempts counted there');
      },
      () => {
        this.storeDownUntil = Date.now() + STORE_RETRY_MS;
      },
    );
  }
}

function userSubject(user: string, limit: number): Subject {
  // Hashed: bounded key length whatever was sent, and no user names in plain in Redis.
  const folded = user.normalize('NFKC').toLowerCase();
  return { scope: 'user', id: createHash('sha256').update(folded).digest('base64url'), limit };
}

const failureKey = (s: Subject) => `basic:failures:${s.scope}:${s.id}`;
const lockKey = (s: Subject) => `basic:locked:${s.scope}:${s.id}`;
