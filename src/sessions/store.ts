// The session store contract: ids and bytes, nothing about HTTP. Login sessions (sealed, so
// the store never holds a readable token), login attempts in progress, indexes of sessions
// (for back-channel logout) and counters (failed basic logins, locks) all live here, so that
// with Redis every replica shares them. Every implementation passes the same contract suite
// (test/sessions/store-contract.test.ts).
import { ServiceUnavailableError } from '../errors.ts';

export interface Counter {
  /** The value after this increment. */
  readonly count: number;
  /** Milliseconds until the counter resets. */
  readonly ttlMs: number;
}

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<Uint8Array | null>;
  set(key: string, value: Uint8Array, ttlMs: number): Promise<void>;
  /** Reads and deletes in one step: a one-time value (login state) can be used only once. */
  take(key: string): Promise<Uint8Array | null>;
  delete(key: string): Promise<void>;
  /** Adds 1 to a counter that expires `ttlMs` after its first increment. */
  increment(key: string, ttlMs: number): Promise<Counter>;
  /** The counter's current value (0 when absent) and time left. */
  peek(key: string): Promise<Counter>;
  /**
   * Adds `member` to the set at `key` (an index, such as the sessions of one user); the set
   * then lives at least `ttlMs` longer. Members are ids, never secrets.
   */
  addMember(key: string, member: string, ttlMs: number): Promise<void>;
  /** Reads and deletes the set in one step ([] when absent): each member is handed out once. */
  takeMembers(key: string): Promise<string[]>;
  /** Resolves when the store answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The store did not answer: requests that need it get 503, never a login loop. */
export class StoreUnavailableError extends ServiceUnavailableError {
  constructor(cause?: unknown) {
    super('session_store_unavailable', 'the session store is not reachable; try again shortly', cause, 1);
  }
}
