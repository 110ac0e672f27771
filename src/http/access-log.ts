// One access line per request, and the request metrics, once the answer is decided.

import type { Services } from '../decision/runtime.ts';
import { methodLabel } from '../observability/metrics.ts';
import type { Context, Step } from './context.ts';

export function accessLog(services: Services): Step {
  const { logger, metrics } = services;
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      const status = ctx.state.upgradeStatus ?? ctx.res.statusCode;
      const route = routeLabel(ctx);
      metrics.requests.inc({ route, method: methodLabel(ctx.method), status: String(status) });
      metrics.requestDuration.observe({ route }, durationMs / 1000);
      logger.info(
        {
          reqId: ctx.state.requestId,
          method: ctx.method,
          path: ctx.state.facts?.target?.matchPath ?? pathOf(ctx.url),
          status,
          durationMs,
          user: ctx.state.identity?.user ?? null,
          authMethod: ctx.state.identity?.method ?? null,
          route: ctx.state.route?.pattern ?? null,
          upstreamStatus: ctx.state.upstreamStatus ?? null,
          client: ctx.state.clientAddress,
          ...(ctx.state.denied ? { denied: ctx.state.denied } : {}),
          ...(ctx.state.checked ? { checked: ctx.state.checked } : {}),
        },
        'request',
      );
    }
  };
}

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
