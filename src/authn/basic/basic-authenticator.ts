// HTTP basic authentication against an htpasswd file. In order: malformed credentials are
// refused (401) before anything else; a locked user name or address gets 429 before any hash
// work; credentials verified recently come from the cache; otherwise the password is checked
// against the user's hash, or against a decoy hash of the same kind when the user does not
// exist, so both failures cost the same and answer the same.
import type { BasicConfig } from '../../config/schema.ts';
import { UnauthorizedError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { SessionStore } from '../../sessions/store.ts';
import type { Authenticator, AuthRequest } from '../authenticator.ts';
import type { Identity } from '../identity.ts';
import { type CacheOutcome, CredentialCache } from './credential-cache.ts';
import { type BasicCredentials, parseBasicCredentials } from './credentials.ts';
import { EmptyPasswordAudit } from './empty-password-audit.ts';
import { Lockout } from './lockout.ts';
import { passwordMatches } from './password-hash.ts';
import type { UserDirectory } from './user-directory.ts';

export interface BasicAuthenticatorOptions {
  readonly config: BasicConfig;
  readonly directory: UserDirectory;
  /** Where failed-attempt counters live (runtime.store). */
  readonly store: SessionStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export class BasicAuthenticator implements Authenticator {
  readonly method = 'basic';
  readonly config: BasicConfig;
  readonly directory: UserDirectory;
  readonly store: SessionStore;
  private readonly metrics: Metrics;
  private readonly cache: CredentialCache;
  private readonly lockout: Lockout;
  private readonly audit: EmptyPasswordAudit;
  /** Bound once: a request increments a counter child, it builds no label object. */
  private readonly cacheOutcomes: Record<CacheOutcome, ReturnType<Metrics['basicCredentialCache']['labels']>>;

  constructor(options: BasicAuthenticatorOptions) {
    const { config, metrics } = options;
    this.config = config;
    this.directory = options.directory;
    this.store = options.store;
    this.metrics = metrics;
    this.cacheOutcomes = {
      hit: metrics.basicCredentialCache.labels('hit'),
      miss: metrics.basicCredentialCache.labels('miss'),
    };
    this.cache = new CredentialCache({ ttlMs: config.cache.ttlSeconds * 1000, maxEntries: config.cache.maxEntries });
    this.lockout = new Lockout(
      {
        maxFailures: config.lockout.maxFailures,
        addressMaxFailures: config.lockout.addressMaxFailures,
        windowMs: config.lockout.windowSeconds * 1000,
        backoffMs: config.lockout.backoffSeconds * 1000,
      },
      options.store,
      options.logger,
      metrics,
    );
    // Made now, off the event loop, so that the first unknown user does not pay for it.
    void this.directory.decoyHash();
    this.audit = new EmptyPasswordAudit(this.directory.entries(), options.logger);
    void this.audit.run();
  }

  async authenticate({ authorization, clientAddress }: AuthRequest): Promise<Identity | null> {
    if (authorization?.scheme !== 'basic') return null;
    const credentials = parseBasicCredentials(authorization.credentials);
    await this.lockout.ensureAllowed(credentials.user, clientAddress);
    const { identity, outcome } = await this.cache.resolve(credentials.raw, () =>
      this.verify(credentials, clientAddress),
    );
    this.cacheOutcomes[outcome].inc();
    if (identity === null) {
      throw new UnauthorizedError({
        method: 'basic',
        error: 'invalid_token',
        code: 'invalid_credentials',
        reason: 'wrong_password',
        description: 'wrong user name or password',
      });
    }
    return identity;
  }

  /** Whether this authenticator can serve a new config unchanged (its cache stays warm). */
  fits(config: BasicConfig, directory: UserDirectory, store: SessionStore): boolean {
    return (
      store === this.store &&
      directory.fingerprint === this.directory.fingerprint &&
      JSON.stringify(config) === JSON.stringify(this.config)
    );
  }

  close(): void {
    this.cache.clear();
    this.audit.stop();
  }

  private verify(credentials: BasicCredentials, clientAddress: string): Promise<Identity | null> {
    return this.lockout.guard(credentials.user, clientAddress, () => this.check(credentials, clientAddress));
  }

  private async check({ user, password }: BasicCredentials, clientAddress: string): Promise<Identity | null> {
    const entry = this.directory.lookup(user);
    if (entry && password.length === 0) void this.audit.tried(user, entry.hash);
    const stored = entry?.hash ?? (await this.directory.decoyHash());
    const matches = await passwordMatches(password, stored);
    this.metrics.basicHashChecks.inc({ scheme: stored.scheme });
    if (!entry || !matches) {
      await this.lockout.recordFailure(user, clientAddress);
      return null;
    }
    await this.lockout.recordSuccess(user);
    return { user, method: 'basic', groups: entry.groups, scopes: [], claims: {} };
  }
}
