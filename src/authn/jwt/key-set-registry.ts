// Which key set each jwt entry verifies with, and the remote ones kept across reloads: a
// reload during an IdP outage must not forget the keys that were working, so a remote set
// outlives the config that made it for as long as a config names its URL.
import type { JwtConfig } from '../../config/schema.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { discoverJwksUri, FileKeySet, type KeySet, RemoteKeySet } from './key-set.ts';

export class KeySetRegistry {
  private readonly sets = new Map<string, RemoteKeySet>();
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly prefetch: boolean;

  /** With prefetch, keys are fetched as soon as a config names them, not on the first token. */
  constructor(logger: Logger, metrics: Metrics, options: { prefetch?: boolean } = {}) {
    this.logger = logger;
    this.metrics = metrics;
    this.prefetch = options.prefetch ?? true;
  }

  /** The entry's key set; undefined for an entry with a shared secret only. Throws for an unusable keysFile. */
  keySetFor(entry: JwtConfig): KeySet | undefined {
    if (entry.keysFile !== undefined) return new FileKeySet(entry.keysFile);
    const remote = remoteSourceOf(entry);
    return remote && this.remote(remote.key, remote.jwksUri, entry.jwksCooldownSeconds * 1000);
  }

  /** Forgets key sets the running config no longer names. */
  retainOnly(entries: readonly JwtConfig[]): void {
    const keep = new Set(entries.flatMap((entry) => remoteSourceOf(entry)?.key ?? []));
    for (const key of this.sets.keys()) if (!keep.has(key)) this.sets.delete(key);
  }

  private remote(key: string, jwksUri: string | (() => Promise<string>), cooldownMs: number): RemoteKeySet {
    let set = this.sets.get(key);
    if (!set) {
      set = new RemoteKeySet({
        jwksUri,
        cooldownMs,
        onFetch: (result, error) => {
          this.metrics.jwksRefreshes.inc({ result });
          if (error)
            this.logger.warn(
              { jwks: key, reason: (error as Error).message },
              'JWKS fetch failed; keeping the keys already known',
            );
        },
      });
      this.sets.set(key, set);
      if (this.prefetch) void set.prefetch();
    }
    return set;
  }
}

/** Where an entry's remote keys come from (a JWKS URL or the issuer's discovery), if remote. */
function remoteSourceOf(entry: JwtConfig): { key: string; jwksUri: string | (() => Promise<string>) } | undefined {
  const key = (source: string) => `${source}#${entry.jwksCooldownSeconds}`;
  if (entry.keysFile !== undefined) return undefined;
  if (entry.jwksUri !== undefined) return { key: key(entry.jwksUri), jwksUri: entry.jwksUri };
  const needsPublicKeys =
    entry.algorithms === undefined ? entry.secret === undefined : entry.algorithms.some((a) => !a.startsWith('HS'));
  if (entry.issuer === undefined || !needsPublicKeys) return undefined;
  return { key: key(`discovery:${entry.issuer}`), jwksUri: discoverJwksUri(entry.issuer) };
}
