// Runs the one decision (decision/decide.ts) for a request to this listener and renders it:
// the sidecar's endpoints and what may pass go on; a browser navigation that needs a login is
// sent to it; every other refusal is thrown as its answer, for the error boundary to write.
import type { Decision } from '../decision/decide.ts';
import { decide } from '../decision/decide.ts';
import type { RequestFacts } from '../decision/facts.ts';
import type { Services } from '../decision/runtime.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Step } from './context.ts';

export function decideRequest(services: Services): Step {
  return async (ctx, next) => {
    const decision = await decide(ctx.state.facts as RequestFacts, ctx.state.runtime);
    ctx.state.decision = decision;
    countDecision(services.metrics, decision);
    if (decision.kind === 'endpoint') return next();
    ctx.state.route = decision.route;
    switch (decision.kind) {
      case 'public':
        ctx.state.identity = null;
        return next();
      case 'allowed':
        ctx.state.identity = decision.identity;
        return next();
      case 'forbidden':
        ctx.state.identity = decision.identity;
        ctx.state.denied = decision.reason;
        throw decision.error;
      case 'unauthenticated':
        // A WebSocket upgrade is never a page load: it gets its 401 whatever it accepts.
        if (decision.loginUrl === undefined || ctx.state.upgrade) throw decision.error;
        ctx.state.refusal = decision.error.refusal;
        for (const [name, value] of Object.entries(decision.error.headers)) {
          if (name !== 'WWW-Authenticate') ctx.set(name, value);
        }
        ctx.set('Cache-Control', 'no-store');
        ctx.redirect(decision.loginUrl);
        return;
      case 'throttled':
        throw decision.error;
    }
  };
}

/** auth_sidecar_auth_decisions_total, the same for a proxied request and a forward-auth check. */
export function countDecision(metrics: Metrics, decision: Decision): void {
  const labels = decisionLabels(decision);
  if (labels) metrics.authDecisions.inc(labels);
}

function decisionLabels(decision: Decision): { method: string; result: string } | undefined {
  switch (decision.kind) {
    case 'public':
      return { method: 'none', result: 'public' };
    case 'allowed':
      return { method: decision.identity.method, result: 'allowed' };
    case 'forbidden':
      return { method: decision.identity?.method ?? 'none', result: 'denied' };
    case 'unauthenticated': {
      const { rejection } = decision.error;
      return rejection ? { method: rejection.method, result: 'rejected' } : { method: 'none', result: 'missing' };
    }
    default:
      return undefined;
  }
}
