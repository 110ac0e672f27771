// Picks the route rule for the normalized path (never the query). First match wins; a path
// whose readings with and without parameters pick different rules is refused (400).
import type { Step } from '../http/context.ts';
import { preflightFor } from './preflight.ts';

export function matchRoute(): Step {
  return (ctx, next) => {
    const { runtime, target } = ctx.state;
    ctx.state.route = runtime.routes.select({
      method: ctx.method,
      target: target ?? { matchPath: '/', literalPath: '/' },
      preflightFor: preflightFor(ctx.method, ctx.req.headers),
    });
    return next();
  };
}
