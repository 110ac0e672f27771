// Prometheus metrics, one registry per process (tests may build several), every series
// prefixed auth_sidecar_. Label values are bounded: route patterns come from the config,
// methods are folded to a known set.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_CODES, REFUSAL_REASONS } from '../errors.ts';
import { version } from '../version.ts';
import { FastCounter, FastHistogram } from './fast-metrics.ts';

export const METRIC_PREFIX = 'auth_sidecar_';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** A memory store answers in microseconds, Redis in about a millisecond, and gives up after 1 s. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export type Metrics = ReturnType<typeof createMetrics>;

/** The session store backends and the operations of the SessionStore contract. */
export const STORE_BACKENDS = ['memory', 'redis'] as const;
export const STORE_OPERATIONS = [
  'get',
  'set',
  'take',
  'delete',
  'increment',
  'peek',
  'addMember',
  'takeMembers',
  'ping',
] as const;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const metrics = defineMetrics(registry);
  metrics.buildInfo.set({ version: version(), node: process.versions.node }, 1);
  startAtZero(metrics);
  return metrics;
}

/**
 * A counter series that first appears at 1 is invisible to increase() and rate(): an alert on
 * the first upstream error or rejected reload would miss it. Every series whose label values
 * are known in advance exists from the start, at 0 (requests_total's routes and statuses are
 * not known in advance, so its series appear as requests come).
 */
function startAtZero(metrics: ReturnType<typeof defineMetrics>): void {
  const zero = <L extends string>(
    counter: { inc(labels: Record<L, string>, by: number): void },
    labelSets: readonly Record<L, string>[],
  ) => {
    for (const labels of labelSets) counter.inc(labels, 0);
  };
  const each = <L extends string>(label: L, values: readonly string[]) =>
    values.map((value) => ({ [label]: value }) as Record<L, string>);
  zero(metrics.upstreamErrors, each('kind', ['unavailable', 'timeout']));
  zero(metrics.authDecisions, [
    { method: 'none', result: 'public' },
    { method: 'none', result: 'missing' },
    ...['jwt', 'basic', 'session'].flatMap((method) =>
      ['allowed', 'denied', 'rejected'].map((result) => ({ method, result })),
    ),
  ]);
  zero(metrics.jwksRefreshes, each('result', ['success', 'failure']));
  zero(metrics.oidcDiscoveries, each('result', ['success', 'failure']));
  zero(metrics.logins, each('result', ['success', 'refused', 'failed']));
  zero(metrics.sessionRefreshes, each('result', ['refreshed', 'refused', 'failed']));
  zero(metrics.backchannelLogouts, each('result', ['accepted', 'rejected']));
  zero(metrics.jwtTokenCache, each('result', ['hit', 'miss']));
  zero(metrics.basicHashChecks, each('scheme', ['bcrypt', 'apr1', 'sha1']));
  zero(metrics.basicCredentialCache, each('result', ['hit', 'miss']));
  zero(metrics.basicLockouts, each('scope', ['user', 'address']));
  zero(metrics.configReloads, each('result', ['applied', 'rejected']));
  zero(
    metrics.refusals,
    each(
      'reason',
      [...ERROR_CODES, ...REFUSAL_REASONS].filter((reason) => reason !== 'client_closed'),
    ),
  );
  for (const backend of STORE_BACKENDS) {
    for (const operation of STORE_OPERATIONS) {
      for (const result of ['ok', 'error']) metrics.sessionStoreOperations.inc({ backend, operation, result }, 0);
      metrics.sessionStoreDuration.zero({ backend, operation });
    }
  }
}

function defineMetrics(registry: Registry) {
  const registers = [registry];
  return {
    registry,
    buildInfo: new Gauge({
      name: `${METRIC_PREFIX}build_info`,
      help: 'Always 1; the labels say which auth-sidecar version runs on which Node.js',
      labelNames: ['version', 'node'] as const,
      registers,
    }),
    // Bumped on every request: FastCounter/FastHistogram find a series without hashing labels.
    requests: new FastCounter({
      name: `${METRIC_PREFIX}requests_total`,
      help: 'Requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    requestDuration: new FastHistogram({
      name: `${METRIC_PREFIX}request_duration_seconds`,
      help: 'Time from request to the end of the response, by route pattern',
      labelNames: ['route'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upstreamDuration: new FastHistogram({
      name: `${METRIC_PREFIX}upstream_duration_seconds`,
      help: 'Time until the application sent its response headers',
      labelNames: ['status'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upstreamErrors: new Counter({
      name: `${METRIC_PREFIX}upstream_errors_total`,
      help: 'Requests the application did not answer, by kind (unavailable, timeout)',
      labelNames: ['kind'] as const,
      registers,
    }),
    refusals: new FastCounter({
      name: `${METRIC_PREFIX}refusals_total`,
      help: 'Answers the sidecar made itself instead of the app, by reason (as the access line names it)',
      labelNames: ['reason'] as const,
      registers,
    }),
    authDecisions: new FastCounter({
      name: `${METRIC_PREFIX}auth_decisions_total`,
      help: 'Authentication and authorization outcomes, by method and result',
      labelNames: ['method', 'result'] as const,
      registers,
    }),
    jwksRefreshes: new Counter({
      name: `${METRIC_PREFIX}jwks_refreshes_total`,
      help: 'JWKS fetches (discovery of the JWKS URL included), by result (success, failure)',
      labelNames: ['result'] as const,
      registers,
    }),
    oidcDiscoveries: new Counter({
      name: `${METRIC_PREFIX}oidc_discovery_total`,
      help: 'Fetches of the OpenID Provider discovery document, by result (success, failure)',
      labelNames: ['result'] as const,
      registers,
    }),
    jwtTokenCache: new Counter({
      name: `${METRIC_PREFIX}jwt_token_cache_total`,
      help: 'Bearer tokens looked up in the verified-token cache, by result (hit, miss)',
      labelNames: ['result'] as const,
      registers,
    }),
    sessionStoreOperations: new Counter({
      name: `${METRIC_PREFIX}session_store_operations_total`,
      help: 'Session store operations, by backend (memory, redis), operation and result (ok, error)',
      labelNames: ['backend', 'operation', 'result'] as const,
      registers,
    }),
    sessionStoreDuration: new Histogram({
      name: `${METRIC_PREFIX}session_store_operation_duration_seconds`,
      help: 'Time a session store operation took, failed ones included, by backend and operation',
      labelNames: ['backend', 'operation'] as const,
      buckets: STORE_BUCKETS,
      registers,
    }),
    logins: new Counter({
      name: `${METRIC_PREFIX}oidc_logins_total`,
      help: 'Browser logins finished at the callback, by result (success, refused, failed)',
      labelNames: ['result'] as const,
      registers,
    }),
    sessionRefreshes: new Counter({
      name: `${METRIC_PREFIX}session_refreshes_total`,
      help: 'Access token refreshes of login sessions, by result (refreshed, refused, failed)',
      labelNames: ['result'] as const,
      registers,
    }),
    backchannelLogouts: new Counter({
      name: `${METRIC_PREFIX}backchannel_logouts_total`,
      help: 'Back-channel logout requests from the provider, by result (accepted, rejected)',
      labelNames: ['result'] as const,
      registers,
    }),
    basicHashChecks: new Counter({
      name: `${METRIC_PREFIX}basic_hash_checks_total`,
      help: 'Basic passwords checked against a stored hash (cache misses), by hash scheme',
      labelNames: ['scheme'] as const,
      registers,
    }),
    basicCredentialCache: new Counter({
      name: `${METRIC_PREFIX}basic_credential_cache_total`,
      help: 'Basic credentials looked up in the verified-credential cache, by result (hit, miss)',
      labelNames: ['result'] as const,
      registers,
    }),
    basicLockouts: new Counter({
      name: `${METRIC_PREFIX}basic_lockouts_total`,
      help: 'User names or client addresses locked after too many failed basic attempts, by scope',
      labelNames: ['scope'] as const,
      registers,
    }),
    configReloads: new Counter({
      name: `${METRIC_PREFIX}config_reloads_total`,
      help: 'Configuration reloads, by result (applied, rejected)',
      labelNames: ['result'] as const,
      registers,
    }),
  };
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);

/** Keeps label cardinality bounded whatever method a client invents. */
export function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : 'OTHER';
}
