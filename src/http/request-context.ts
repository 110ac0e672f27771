// First step, cannot throw: fixes the runtime for this request, its id and the client address.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Runtime, Services } from '../decision/runtime.ts';
import { clientAddress } from '../net/address.ts';
import { isRetired } from '../net/client-certificate.ts';
import { headerLines } from '../net/raw-http.ts';
import { type Step, UpgradeResponse } from './context.ts';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A TLS connection verified by client CAs a reload replaced: it closes after this response. */
const retiredTls = (socket: Socket) => (socket as TLSSocket).encrypted === true && isRetired(socket as TLSSocket);

export function requestContext(current: () => Runtime, services: Services): Step {
  return (ctx, next) => {
    const runtime = current();
    const offered = ctx.req.headers['x-request-id'];
    const requestId = typeof offered === 'string' && CLIENT_REQUEST_ID.test(offered) ? offered : randomUUID();
    ctx.state.runtime = runtime;
    ctx.state.requestId = requestId;
    ctx.state.clientAddress = clientAddress(
      ctx.req.socket.remoteAddress ?? '',
      () => headerLines(ctx.req.rawHeaders, 'x-forwarded-for'),
      runtime.trustedProxies,
    );
    if (ctx.res instanceof UpgradeResponse) ctx.state.upgrade = ctx.res.upgrade;
    ctx.set('X-Request-Id', requestId);
    if (services.draining || retiredTls(ctx.req.socket)) ctx.set('Connection', 'close');
    return next();
  };
}
