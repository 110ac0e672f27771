// The admin listener: /healthz, /readyz, /metrics. A separate small server, never proxied, so
// probes and scrapes never pass through authentication or reach the app.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Runtime, Services } from '../decision/runtime.ts';

/** A dependency the pod needs: throws (with a short reason) when it does not answer. */
export type RequiredCheck = () => Promise<void>;

/**
 * A dependency that is reported in /readyz without making the pod unready (see oidcCheck);
 * `report` gives undefined when the dependency is not configured, and the check is left out.
 */
export interface AdvisoryCheck {
  readonly advisory: true;
  report(): CheckResult | undefined;
}

export type ReadinessCheck = RequiredCheck | AdvisoryCheck;

export function createAdminServer(checks: ReadonlyMap<string, ReadinessCheck>, services: Services): Server {
  return createServer((req, res) => {
    void handle(req, res, checks, services).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  checks: ReadonlyMap<string, ReadinessCheck>,
  services: Services,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method_not_allowed' });
  // Liveness only (no dependency is asked: a slow Redis must not get the pod restarted), in the
  // same body shape as /readyz, which the contract gives both admin endpoints.
  if (path === '/healthz') return send(res, 200, { ready: true, checks: { process: { ok: true } } });
  if (path === '/readyz') {
    const { ready, checks: results } = await readiness(checks, services);
    return send(res, ready ? 200 : 503, { ready, checks: results });
  }
  if (path === '/metrics') {
    const text = await services.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': services.metrics.registry.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
    return;
  }
  send(res, 404, { error: 'not_found' });
}

export type CheckResult = { ok: true } | { ok: false; error: string };

async function readiness(checks: ReadonlyMap<string, ReadinessCheck>, services: Services) {
  const results: Record<string, CheckResult> = {};
  let ready = true;
  await Promise.all(
    [...checks].map(async ([name, check]) => {
      if (typeof check !== 'function') {
        const result = check.report();
        if (result) results[name] = result;
        return;
      }
      try {
        await check();
        results[name] = { ok: true };
      } catch (error) {
        results[name] = { ok: false, error: (error as Error).message };
        ready = false;
      }
    }),
  );
  if (services.draining) {
    results.shutdown = { ok: false, error: 'shutting down' };
    ready = false;
  }
  return { ready, checks: results };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/**
 * The OpenID Provider's discovery document was fetched. Reported, but the pod stays ready
 * when it fails: every replica shares the provider, so failing readiness would take them all
 * out of the Service during a provider outage (or a wrong issuer) while bearer and basic
 * requests, and sessions already made, go on working; a browser that needs a login gets 503
 * with Retry-After meanwhile. A failed discovery is retried in the background (see
 * OidcClient.discoveryStatus), so the check turns ok when the provider answers again.
 */
export function oidcCheck(current: () => Runtime): AdvisoryCheck {
  return {
    advisory: true,
    report() {
      const providers = current().login?.providers.list;
      if (providers === undefined) return undefined;
      // One line per provider whose discovery did not succeed, named when there are several.
      const problems = providers.flatMap((provider) => {
        const status = provider.client.discoveryStatus();
        if (status.state === 'found') return [];
        const reason = status.state === 'failed' ? status.reason : 'discovery has not finished yet';
        return [providers.length > 1 ? `${provider.name}: ${reason}` : reason];
      });
      return problems.length === 0 ? { ok: true } : { ok: false, error: problems.join('; ') };
    },
  };
}

/** The app accepts TCP connections (cached briefly: probes come often, from several kubelets). */
export function upstreamCheck(current: () => Runtime, timeoutMs = 1000, cacheMs = 1000): ReadinessCheck {
  let last: { at: number; origin: string; error: string | undefined } | undefined;
  return async () => {
    const origin = current().upstream.origin;
    if (!last || last.origin !== origin || Date.now() - last.at > cacheMs) {
      last = { at: Date.now(), origin, error: await tryConnect(new URL(origin), timeoutMs) };
    }
    if (last.error) throw new Error(last.error);
  };
}

function tryConnect(url: URL, timeoutMs: number): Promise<string | undefined> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (error: string | undefined) => {
      socket.destroy();
      resolve(error);
    };
    socket.once('connect', () => done(undefined));
    socket.once('timeout', () => done('connect timed out'));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(error.code === 'ECONNREFUSED' ? 'connection refused' : (error.code ?? 'unreachable')),
    );
  });
}
