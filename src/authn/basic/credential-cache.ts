// Remembers credentials that verified, so that a script calling every second does not pay a
// bcrypt hash (~50 ms of CPU) per request. Entries are keyed by an HMAC of the credentials under
// a random key made per process (and per loaded htpasswd file): neither the password nor an
// unkeyed hash of it is ever held. Bounded, with a short TTL; a changed htpasswd file builds a
// new authenticator, and so an empty cache. Concurrent checks of the same credentials share one
// verification.
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Identity } from '../identity.ts';

export interface CredentialCacheOptions {
  /** 0 turns the cache off (every request is verified). */
  readonly ttlMs: number;
  readonly maxEntries: number;
}

export type CacheOutcome = 'hit' | 'miss';

export class CredentialCache {
  // A KeyObject, made once: createHmac with a raw Buffer key costs ~5x more per request.
  private readonly key = createSecretKey(randomBytes(32));
  private readonly entries: LRUCache<string, Identity> | undefined;
  private readonly inFlight = new Map<string, Promise<Identity | null>>();

  constructor(options: CredentialCacheOptions) {
    this.entries =
      options.ttlMs > 0
        ? new LRUCache({ max: options.maxEntries, ttl: options.ttlMs, ttlAutopurge: false })
        : undefined;
  }

  /**
   * The identity these credentials were verified as, or the result of `verify` (remembered
   * when it is an identity). `verify` runs once for any number of concurrent equal requests.
   */
  async resolve(
    credentials: Buffer,
    verify: () => Promise<Identity | null>,
  ): Promise<{ identity: Identity | null; outcome: CacheOutcome }> {
    const key = createHmac('sha256', this.key).update(credentials).digest('base64url');
    const cached = this.entries?.get(key);
    if (cached) return { identity: cached, outcome: 'hit' };
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = verify().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const identity = await pending;
    if (identity) this.entries?.set(key, identity);
    return { identity, outcome: 'miss' };
  }

  clear(): void {
    this.entries?.clear();
  }
}
