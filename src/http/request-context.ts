// First step, cannot throw: fixes the runtime for this request, its id and the client address.
import { randomUUID } from 'node:crypto';
import type { Runtime, Services } from '../runtime.ts';
import { type Step, upgrades } from './context.ts';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function requestContext(current: () => Runtime, services: Services): Step {
  return (ctx, next) => {
    const runtime = current();
    const offered = ctx.req.headers['x-request-id'];
    const requestId = typeof offered === 'string' && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
    ctx.state.runtime = runtime;
    ctx.state.requestId = requestId;
    ctx.state.clientAddress = runtime.trustedProxies.clientAddress(ctx.req);
    const upgrade = upgrades.get(ctx.req);
    if (upgrade) ctx.state.upgrade = upgrade;
    ctx.set('X-Request-Id', requestId);
    if (services.draining) ctx.set('Connection', 'close');
    return next();
  };
}
