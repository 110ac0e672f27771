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
import { isIPv6 } from 'node:net';
import { TooManyAttemptsError } from '../../errors.ts';
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
 * How long the local counts stand in for an unreachable store before it is asked again: short,
 * since a disconnected Redis fails at once; it spares requests the command timeout of a hung one.
 */
const STORE_RETRY_MS = 2000;
const LOCAL_ENTRIES = 10_000;

export class Lockout {
  private readonly settings: LockoutSettings;
  private readonly store: SessionStore;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private local: MemoryStore | undefined;
  private storeDownUntil = 0;

  constructor(settings: LockoutSettings, store: SessionStore, logger: Logger, metrics: Metrics) {
    this.settings = settings;
    this.store = store;
    this.logger = logger;
    this.metrics = metrics;
  }

  /** Throws TooManyAttemptsError while the user name or the address is locked. */
  async ensureAllowed(user: string, address: string): Promise<void> {
    const subjects = this.subjects(user, address);
    if (subjects.length === 0) return;
    const locks = await this.withStore((store) => Promise.all(subjects.map((s) => store.get(lockKey(s)))));
    const now = Date.now();
    const until = Math.max(0, ...locks.map((value) => (value ? Number(Buffer.from(value).toString()) : 0)));
    if (until > now) throw new TooManyAttemptsError((until - now) / 1000);
  }

  /** Counts a failed attempt; locks each subject whose count reaches its limit. */
  async recordFailure(user: string, address: string): Promise<void> {
    const { windowMs, backoffMs } = this.settings;
    await this.withStore(async (store) => {
      for (const subject of this.subjects(user, address)) {
        const { count } = await store.increment(failureKey(subject), windowMs);
        if (count < subject.limit) continue;
        const until = Date.now() + backoffMs;
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

  private subjects(user: string, address: string): Subject[] {
    const subjects: Subject[] = [];
    if (this.settings.maxFailures > 0) subjects.push(userSubject(user, this.settings.maxFailures));
    if (this.settings.addressMaxFailures > 0 && address !== '') {
      subjects.push({ scope: 'address', id: addressId(address), limit: this.settings.addressMaxFailures });
    }
    return subjects;
  }

  private async withStore<T>(operation: (store: SessionStore) => Promise<T>): Promise<T> {
    if (Date.now() >= this.storeDownUntil) {
      try {
        const result = await operation(this.store);
        if (this.storeDownUntil !== 0) {
          this.storeDownUntil = 0;
          this.logger.info('basic auth: session store reachable again; failed attempts counted there');
        }
        return result;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        if (this.storeDownUntil === 0) {
          this.logger.warn('basic auth: session store unreachable; counting failed attempts in this process');
        }
        this.storeDownUntil = Date.now() + STORE_RETRY_MS;
      }
    }
    this.local ??= new MemoryStore(LOCAL_ENTRIES);
    return operation(this.local);
  }
}

function userSubject(user: string, limit: number): Subject {
  // Hashed: bounded key length whatever was sent, and no user names in plain in Redis.
  const folded = user.normalize('NFKC').toLowerCase();
  return { scope: 'user', id: createHash('sha256').update(folded).digest('base64url'), limit };
}

/** An IPv4 address as it is; an IPv6 one by its /64 prefix. */
export function addressId(address: string): string {
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.split('%')[0]?.split('::') ?? [];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const tailSize = tailGroups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups =
    tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailSize).fill('0')];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

const failureKey = (s: Subject) => `basic:failures:${s.scope}:${s.id}`;
const lockKey = (s: Subject) => `basic:locked:${s.scope}:${s.id}`;
