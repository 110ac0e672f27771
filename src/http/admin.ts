// The admin listener: /healthz, /readyz, /metrics. A separate small server, never proxied, so
// probes and scrapes never pass through authentication or reach the app.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Runtime, Services } from '../decision/runtime.ts';

/** Throws (with a short reason) when the dependency does not answer. */
export type ReadinessCheck = () => Promise<void>;

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

type CheckResult = { ok: true } | { ok: false; error: string };

async function readiness(checks: ReadonlyMap<string, ReadinessCheck>, services: Services) {
  const results: Record<string, CheckResult> = {};
  await Promise.all(
    [...checks].map(async ([name, check]) => {
      try {
        await check();
        results[name] = { ok: true };
      } catch (error) {
        results[name] = { ok: false, error: (error as Error).message };
      }
    }),
  );
  if (services.draining) results.shutdown = { ok: false, error: 'shutting down' };
  return { ready: Object.values(results).every((r) => r.ok), checks: results };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : text);
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
