// Warns, once per entry, about htpasswd lines whose hash is of the empty password: such a user
// can never log in (an empty password is always refused), and was most likely meant to have a
// password. The warning names the user, never the hash.
// Checking costs a hash per entry, so it never holds up start-up or the event loop: it runs in
// the background, one entry at a time, yielding between entries. {SHA} costs nothing; $apr1$
// costs ~2 ms of JavaScript; bcrypt runs on libuv's thread pool (one of its threads at a time).
// At most MAX_HASHED_CHECKS apr1 or bcrypt entries are checked per load (about 6 s of one pool
// thread at bcrypt cost 10), so a 10,000-line file cannot keep a core busy for minutes; any
// entry beyond that is checked the first time somebody tries the empty password for it.
import type { Logger } from '../../observability/logger.ts';
import { isEmptyPasswordHash, type StoredHash } from './password-hash.ts';

export const MAX_HASHED_CHECKS = 100;

export class EmptyPasswordAudit {
  private readonly entries: Iterable<[string, StoredHash]>;
  private readonly logger: Logger;
  private readonly maxHashedChecks: number;
  private readonly checked = new Set<string>();
  private stopped = false;

  constructor(entries: Iterable<[string, StoredHash]>, logger: Logger, maxHashedChecks = MAX_HASHED_CHECKS) {
    this.entries = entries;
    this.logger = logger;
    this.maxHashedChecks = maxHashedChecks;
  }

  /** Checks the entries in the background; resolves when done (or stopped). */
  async run(): Promise<void> {
    let hashed = 0;
    let deferred = 0;
    for (const [user, hash] of this.entries) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.stopped) return;
      if (hash.scheme !== 'sha1') {
        if (hashed === this.maxHashedChecks) {
          deferred++;
          continue;
        }
        hashed++;
      }
      await this.check(user, hash);
    }
    if (deferred > 0) {
      this.logger.info(
        { entries: deferred, checked: this.maxHashedChecks },
        'htpasswd entries not checked for an empty password at load; each is checked when the empty password is tried',
      );
    }
  }

  /** An empty password was tried for this user: check its entry now if the load did not. */
  async tried(user: string, hash: StoredHash): Promise<void> {
    if (!this.stopped) await this.check(user, hash);
  }

  stop(): void {
    this.stopped = true;
  }

  private async check(user: string, hash: StoredHash): Promise<void> {
    if (this.checked.has(user)) return;
    this.checked.add(user);
    if (await isEmptyPasswordHash(hash)) {
      this.logger.warn(
        { user, scheme: hash.scheme },
        'htpasswd entry is a hash of the empty password; it can never log in: set a password',
      );
    }
  }
}
