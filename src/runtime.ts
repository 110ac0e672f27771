// The composition root of one configuration: builds the Runtime (decision/runtime.ts) a
// request is served with. A reload builds a new Runtime and swaps it in whole; a request keeps
// the Runtime it started with, so it never sees half of an old config and half of a new one.
// Parts whose settings did not change (the upstream pool, fetched JWKS, the basic cache) are
// carried over, so a reload drops no connection and no key.
import type { Authenticator } from './authn/authenticator.ts';
import { BasicAuthenticator } from './authn/basic/basic-authenticator.ts';
import { loadUserDirectory, type UserDirectory } from './authn/basic/user-directory.ts';
import { JwtAuthenticator } from './authn/jwt/bearer-jwt.ts';
import { KeySetRegistry } from './authn/jwt/key-set-registry.ts';
import { MtlsAuthenticator } from './authn/mtls/mtls-authenticator.ts';
import { RouteTable } from './authz/route-table.ts';
import {
  type AuthMethod,
  type BasicConfig,
  type Config,
  DEFAULT_MTLS,
  type JwtConfig,
  type TlsConfig,
} from './config/schema.ts';
import type { Runtime, Services } from './decision/runtime.ts';
import { ConfigError } from './errors.ts';
import { IdentityTokenSigner } from './identity-token/signer.ts';
import { AddressList } from './net/address.ts';
import { createLogger } from './observability/logger.ts';
import { createMetrics } from './observability/metrics.ts';
import { buildLogin } from './oidc/login.ts';
import { SessionAuthenticator } from './oidc/session-authenticator.ts';
import { MeasuredStore } from './sessions/measured-store.ts';
import { MemoryStore } from './sessions/memory-store.ts';
import { RedisStore } from './sessions/redis-store.ts';
import type { SessionStore } from './sessions/store.ts';
import { type ListenerTls, loadListenerTls } from './tls/listener-tls.ts';
import { Upstream } from './upstream/forward.ts';
import type { HeaderPolicy } from './upstream/headers.ts';
import { WebSocketProxy } from './upstream/websocket.ts';

/** Services for a command that builds a runtime without serving: silent, connects nowhere. */
export function offlineServices(): Services {
  const logger = createLogger({ level: 'silent' });
  const metrics = createMetrics();
  return {
    logger,
    logLine: () => {},
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
  const identityToken = buildIdentityToken(config, problems);
  const tls = config.tls ? loadTls(config.tls, problems, services, previous?.tls) : undefined;
  if (problems.length > 0) throw new ConfigError(problems);
  if (tls?.requestCert) authenticators.set('mtls', new MtlsAuthenticator((config.mtls ?? DEFAULT_MTLS).claims));
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
      skipAuthPreflight: config.skipAuthPreflight,
    }),
    authenticators,
    upstream: sameUpstream ? previous.upstream : new Upstream(config.upstream),
    store,
    trustedProxies: new AddressList(config.trustedProxies),
    headerPolicy: {
      dropUnderscoreHeaders: config.upstream.dropUnderscoreHeaders,
      passBasicAuthorization: config.basic?.passAuthorization ?? false,
      // Each provider's own setting decides for its sessions (oidc/session-record.ts).
      passAccessToken: config.oidc?.some((provider) => provider.passAccessToken) ?? false,
      ...(login ? { dropCookie: login.cookies.isSidecarCookie } : {}),
      ...configuredHeaders(config, identityToken),
    },
    realm: config.basic?.realm ?? 'auth-sidecar',
    login,
    identityToken,
    tls,
  };
}

/** The identity token's signer; undefined without identityToken, or when a key file is unusable. */
function buildIdentityToken(config: Config, problems: string[]): IdentityTokenSigner | undefined {
  if (!config.identityToken) return undefined;
  try {
    return new IdentityTokenSigner(config.identityToken, config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.lines);
    return undefined;
  }
}

/** identityHeaders and the identity token's header, for the header step; nothing when neither is set. */
function configuredHeaders(config: Config, identityToken: IdentityTokenSigner | undefined): Partial<HeaderPolicy> {
  const claimHeaders = Object.entries(config.identityHeaders ?? {}).map(([name, claim]) => ({ name, claim }));
  const names = [...claimHeaders.map((h) => h.name), ...(identityToken ? [identityToken.header] : [])];
  if (names.length === 0) return {};
  return {
    ...(claimHeaders.length > 0 ? { claimHeaders } : {}),
    ...(identityToken ? { identityTokenHeader: identityToken.header } : {}),
    configuredHeaders: new Set(names.map((name) => name.toLowerCase())),
  };
}

/**
 * The running settings when no file changed, so a reload with the same files changes nothing.
 * An expired certificate is served all the same, with a warning (clients will refuse it): its
 * renewal may be on its way, and refusing to start would only add a restart loop.
 */
function loadTls(
  config: TlsConfig,
  problems: string[],
  services: Services,
  previous: ListenerTls | undefined,
): ListenerTls | undefined {
  try {
    const loaded = loadListenerTls(config);
    if (previous?.fingerprint === loaded.fingerprint) return previous;
    if (loaded.notAfter < Date.now()) {
      const expired = new Date(loaded.notAfter).toISOString();
      services.logger.warn({ certFile: config.certFile, expired }, 'the certificate of tls.certFile has expired');
    }
    return loaded;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.lines);
    return undefined;
  }
}

/** Releases what `next` no longer uses, once the requests still running on `old` are done. */
export async function retireRuntime(old: Runtime, next: Runtime | undefined, services: Services): Promise<void> {
  if (next) services.keySets.retainOnly(next.config.jwt ?? []);
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
    const redis = new RedisStore(session.redis, services.logger, { lazyConnect: services.offline ?? false });
    return new MeasuredStore(redis, services.metrics);
  }
  return new MeasuredStore(new MemoryStore(), services.metrics);
}

function sameStore(a: Config | undefined, b: Config): boolean {
  return (
    a !== undefined &&
    a.session.store === b.session.store &&
    JSON.stringify(a.session.redis) === JSON.stringify(b.session.redis)
  );
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
      return services.keySets.keySetFor(entry);
    } catch (error) {
      const at = entries.length > 1 ? `jwt.${index}` : 'jwt';
      problems.push(`config: ${at}.keysFile: ${(error as Error).message}`);
      return undefined;
    }
  });
  return new JwtAuthenticator({ entries, keySets, metrics: services.metrics });
}
