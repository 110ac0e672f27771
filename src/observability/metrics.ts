// Prometheus metrics, one registry per process (tests may build several), every series
// prefixed auth_sidecar_. Label values are bounded: route patterns come from the config,
// methods are folded to a known set.
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import { ERROR_CODES, REFUSAL_REASONS } from '../errors.ts';
import { FastCounter, FastHistogram } from './fast-metrics.ts';

export const METRIC_PREFIX = 'auth_sidecar_';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const metrics = defineMetrics(registry);
  // A counter series that first appears at 1 is invisible to increase() and rate(): an alert on
  // rejected reloads would miss the first one. Both results exist from the start, at 0.
  for (const result of ['applied', 'rejected']) metrics.configReloads.inc({ result }, 0);
  for (const reason of [...ERROR_CODES, ...REFUSAL_REASONS])
    if (reason !== 'client_closed') metrics.refusals.at(reason);
  return metrics;
}

function defineMetrics(registry: Registry) {
  const registers = [registry];
  return {
    registry,
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
      help: 'JWKS fetches, by result',
      labelNames: ['result'] as const,
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
