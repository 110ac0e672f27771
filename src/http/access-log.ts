// One access line per request, and the request metrics, once the answer is decided. The line
// is the one log line written on every request, so it is built here as a string, field by
// field, and handed to the log destination: no object to serialize, no redaction pass (it
// holds no header, cookie or token by construction: every value is one of the fields below).
import type { Services } from '../decision/runtime.ts';
import { methodLabel } from '../observability/metrics.ts';
import type { Context, Step } from './context.ts';

export function accessLog(services: Services): Step {
  const { logger, metrics } = services;
  const write = services.logLine;
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      const status = ctx.state.upgradeStatus ?? ctx.res.statusCode;
      const route = routeLabel(ctx);
      metrics.requests.at(route, methodLabel(ctx.method), String(status)).inc();
      metrics.requestDuration.at(route).observe(durationMs / 1000);
      const refusal = ctx.state.refusal;
      if (refusal !== undefined) metrics.refusals.at(refusal).inc();
      if (logger.isLevelEnabled('info')) write(accessLine(ctx, status, durationMs));
    }
  };
}

/** The access line, in the shape and order pino gives every other line. */
function accessLine(ctx: Context, status: number, durationMs: number): string {
  const { state } = ctx;
  const identity = state.identity;
  let line =
    `{"level":"info","time":"${new Date().toISOString()}","reqId":${JSON.stringify(state.requestId)}` +
    `,"method":${JSON.stringify(ctx.method)},"path":${JSON.stringify(state.facts?.target?.matchPath ?? pathOf(ctx.url))}` +
    `,"status":${status},"durationMs":${durationMs}` +
    `,"user":${identity ? JSON.stringify(identity.user) : 'null'},"authMethod":${identity ? `"${identity.method}"` : 'null'}` +
    `,"route":${state.route?.pattern ? JSON.stringify(state.route.pattern) : 'null'}` +
    `,"upstreamStatus":${state.upstreamStatus ?? 'null'},"client":${JSON.stringify(state.clientAddress)}`;
  if (state.refusal !== undefined) line += `,"error":"${state.refusal}"`;
  if (state.denied) line += `,"denied":${JSON.stringify(state.denied)}`;
  if (state.checked) line += `,"checked":${JSON.stringify(state.checked)}`;
  return `${line},"msg":"request"}\n`;
}

/**
 * The route label of the metrics: the configured glob; "(default)" when no route matched and
 * the default rule decided; the path prefix for the sidecar's own endpoints; "(none)" for a
 * request refused before any rule was chosen (a malformed path, say). The log line says null
 * for all but the first, and its path tells them apart.
 */
function routeLabel(ctx: Context): string {
  const { route, decision, runtime } = ctx.state;
  if (route) return route.pattern ?? '(default)';
  if (decision?.kind === 'endpoint') return runtime.config.pathPrefix;
  return '(none)';
}

function pathOf(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? url : url.slice(0, at);
}
