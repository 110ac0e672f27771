// Everything built from one configuration: the parts a request uses. A reload builds a new
// Runtime and swaps it in whole; a request keeps the Runtime it started with, so it never sees
// half of an old config and half of a new one. Parts whose settings did not change (the
// upstream pool, fetched JWKS) are carried over, so a reload drops no connection and no key.
import type { Authenticator } from './authn/authenticator.ts';
import { BasicAuthenticator } from './authn/basic/basic-authenticator.ts';
import { loadUserDirectory, type UserDirectory } from './authn/basic/user-directory.ts';
import { JwtAuthenticator } from './authn/jwt/bearer-jwt.ts';
import { discoverJwksUri, FileKeySet, type KeySet, RemoteKeySet } from './authn/jwt/key-set.ts';
import { SessionAuthenticator } from './authn/session-cookie.ts';
import { RouteTable } from './authz/route-table.ts';
import { type AuthMethod, type BasicConfig, type Config, type JwtConfig, parseListen } from './config/schema.ts';
import { ConfigError } from './errors.ts';
import { TrustedProxies } from './http/trusted-proxies.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { buildLogin, type Login } from './oidc/login.ts';
import { MemoryStore } from './sessions/memory-store.ts';
import { RedisStore } from './sessions/redis-store.ts';
import type { SessionStore } from './sessions/store.ts';
import { Upstream } from './upstream/forward.ts';
import type { HeaderPolicy } from './upstream/headers.ts';
import { WebSocketProxy } from './upstream/websocket.ts';

/** Parts that live as long as the process, whatever the config. */
export interface Services {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly keySets: KeySetRegistry;
  readonly websockets: WebSocketProxy;
  /** Set once SIGTERM arrived: readiness fails and connections are closed after each response. */
  draining: boolean;
  /** Build parts without connecting anywhere (check-config): stores connect on first use. */
  readonly offline?: boolean;
}

export interface Runtime {
  readonly config: Config;
  readonly routes: RouteTable;
  readonly authenticators: ReadonlyMap<AuthMethod, Authenticator>;
  readonly upstream: Upstream;
  /** Sessions, login state and counters (memory, or Redis shared by every replica). */
  readonly store: SessionStore;
  readonly trustedProxies: TrustedProxies;
  readonly headerPolicy: HeaderPolicy;
  /** The realm named in every challenge. */
  readonly realm: string;
  /** Browser login (OIDC) and login sessions; undefined without `oidc`. */
  readonly login: Login | undefined;
}

/** Services for a command that builds a runtime without serving: silent, connects nowhere. */
export function offlineServices(): Services {
  const logger = createLogger({ level: 'silent' });
  const metrics = createMetrics();
  return {
    logger,
    metrics,
    keySets: new KeySetRegistry(logger, metrics, { prefetch: false }),
    websockets: new WebSocketProxy(),
    draining: false,
    offline: true,
  };
}

/** Builds the parts of a config. Throws ConfigError when a file it names is unusable. */
export function buildRuntime(config: Config, services: Services, previous?: Runtime): Runtime {
  const problems: string[] = [];
  const authenticators = new Map<AuthMethod, Authenticator>();
  if (config.jwt) authenticators.set('jwt', buildJwt(config.jwt, services, problems));
  const users = config.basic ? loadBasicUsers(config.basic, problems) : undefined;
  if (problems.length > 0) throw new ConfigError(problems);
  const store = sameStore(previous?.config, config) && previous ? previous.store : createStore(config, services);
  if (config.basic && users) {
    authenticators.set('basic', buildBasic(config.basic, users, store, services, previous));
  }
  const login = buildLogin(config, services, store, previous?.login);
  if (login) authenticators.set('session', new SessionAuthenticator(login));
  const sameUpstream =
    previous !== undefined &&
    previous.config.upstream.url === config.upstream.url &&
    previous.config.upstream.timeoutSeconds === config.upstream.timeoutSeconds;
  return {
    config,
    routes: new RouteTable(config.routes, new Set(authenticators.keys()), {
      caseInsensitive: config.caseInsensitiveRoutes,
    }),
    authenticators,
    upstream: sameUpstream ? previous.upstream : new Upstream(config.upstream),
    store,
    trustedProxies: new TrustedProxies(config.trustedProxies),
    headerPolicy: {
      dropUnderscoreHeaders: config.upstream.dropUnderscoreHeaders,
      passBasicAuthorization: config.basic?.passAuthorization ?? false,
      passAccessToken: config.oidc?.passAccessToken ?? false,
      ...(login ? { dropCookie: login.cookies.isSidecarCookie } : {}),
    },
    realm: config.basic?.realm ?? 'auth-sidecar',
    login,
  };
}

/** Releases what `next` no longer uses, once the requests still running on `old` are done. */
export async function retireRuntime(old: Runtime, next: Runtime | undefined, services: Services): Promise<void> {
  if (next) services.keySets.retainOnly(next);
  const closing: Promise<void>[] = [];
  if (old.upstream !== next?.upstream) closing.push(old.upstream.close());
  if (old.store !== next?.store) closing.push(old.store.close());
  for (const [method, authenticator] of old.authenticators) {
    if (next?.authenticators.get(method) !== authenticator) closing.push(Promise.resolve(authenticator.close?.()));
  }
  await Promise.allSettled(closing);
}

function createStore(config: Config, services: Services): SessionStore {
  const { session } = config;
  if (session.store === 'redis' && session.redis) {
    return new RedisStore(session.redis, services.logger, { lazyConnect: services.offline ?? false });
  }
  return new MemoryStore();
}

function sameStore(a: Config | undefined, b: Config): boolean {
  return (
    a !== undefined &&
    a.session.store === b.session.store &&
    JSON.stringify(a.session.redis) === JSON.stringify(b.session.redis)
  );
}

/** Whether a new config changes what only a restart can change. */
export function listenChanged(a: Config, b: Config): boolean {
  const same = (x: string, y: string) => JSON.stringify(parseListen(x)) === JSON.stringify(parseListen(y));
  return !same(a.listen, b.listen) || !same(a.admin.listen, b.admin.listen);
}

function loadBasicUsers(config: BasicConfig, problems: string[]): UserDirectory | undefined {
  try {
    return loadUserDirectory(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.lines);
    return undefined;
  }
}

/** The running basic authenticator when nothing it depends on changed, so its cache stays warm. */
function buildBasic(
  config: BasicConfig,
  directory: UserDirectory,
  store: SessionStore,
  services: Services,
  previous: Runtime | undefined,
): BasicAuthenticator {
  const running = previous?.authenticators.get('basic');
  if (running instanceof BasicAuthenticator && running.fits(config, directory, store)) return running;
  return new BasicAuthenticator({ config, directory, store, logger: services.logger, metrics: services.metrics });
}

function buildJwt(entries: readonly JwtConfig[], services: Services, problems: string[]): JwtAuthenticator {
  const keySets = entries.map((entry, index) => {
    try {
      return keySetFor(entry, services);
    } catch (error) {
      const at = entries.length > 1 ? `jwt.${index}` : 'jwt';
      problems.push(`config: ${at}.keysFile: ${(error as Error).message}`);
      return undefined;
    }
  });
  return new JwtAuthenticator({ entries, keySets });
}

function keySetFor(entry: JwtConfig, services: Services): KeySet | undefined {
  if (entry.keysFile !== undefined) return new FileKeySet(entry.keysFile);
  const remote = remoteSourceOf(entry);
  return remote && services.keySets.remote(remote.key, remote.jwksUri, entry.jwksCooldownSeconds * 1000);
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

/**
 * Remote key sets outlive a reload when their URL stays, so that a reload during an IdP outage
 * does not forget the keys that were working.
 */
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

  remote(key: string, jwksUri: string | (() => Promise<string>), cooldownMs: number): RemoteKeySet {
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

  /** Forgets key sets the running config no longer names. */
  retainOnly(runtime: Runtime): void {
    const keep = new Set((runtime.config.jwt ?? []).flatMap((entry) => remoteSourceOf(entry)?.key ?? []));
    for (const key of this.sets.keys()) if (!keep.has(key)) this.sets.delete(key);
  }
}
