// Establishes who the caller is, with the methods the route accepts. A public route, or a CORS
// preflight on a route that lets them through, goes on without an identity.
import { preflightFor } from '../authz/preflight.ts';
import type { AuthMethod } from '../config/schema.ts';
import { UnauthorizedError } from '../errors.ts';
import type { Context, Step } from '../http/context.ts';
import type { Services } from '../runtime.ts';
import { authenticateWith } from './authenticator.ts';
import type { Identity } from './identity.ts';

export function authenticate(services: Services): Step {
  return async (ctx, next) => {
    const route = ctx.state.route ?? ctx.state.runtime.routes.defaultRoute;
    if (route.auth === 'none' || (route.preflight && preflightFor(ctx.method, ctx.req.headers) !== undefined)) {
      services.metrics.authDecisions.inc({ method: 'none', result: 'public' });
      ctx.state.identity = null;
      return next();
    }
    ctx.state.identity = await identify(ctx, route.auth, services);
    return next();
  };
}

/** The caller's identity by one of `methods`, or UnauthorizedError. */
export async function identify(ctx: Context, methods: readonly AuthMethod[], services: Services): Promise<Identity> {
  const { runtime, clientAddress } = ctx.state;
  const authenticators = methods.flatMap((m) => runtime.authenticators.get(m) ?? []);
  const request = { req: ctx.req, authorization: ctx.state.authorization, clientAddress };
  let identity: Identity | null;
  try {
    identity = await authenticateWith(authenticators, request);
  } catch (error) {
    if (error instanceof UnauthorizedError) {
      services.metrics.authDecisions.inc({ method: error.rejection?.method ?? 'none', result: 'rejected' });
    }
    throw error;
  }
  if (identity === null) {
    services.metrics.authDecisions.inc({ method: 'none', result: 'missing' });
    throw new UnauthorizedError();
  }
  return identity;
}
