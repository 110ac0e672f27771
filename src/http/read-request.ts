// The facts of a request to this listener, read once (decision/facts.ts), after refusing what
// cannot be read unambiguously: TRACE, a second Host or Authorization header, and a path that
// does not normalize (see net/normalize-path.ts). The client certificate is the connection's.
import type { TLSSocket } from 'node:tls';
import { parseAuthorization } from '../authn/authorization-header.ts';
import { requestFacts } from '../decision/facts.ts';
import { BadRequestError, SidecarError } from '../errors.ts';
import { clientCertificateOf } from '../net/client-certificate.ts';
import { normalizeTarget } from '../net/normalize-path.ts';
import { headerCount } from '../net/raw-http.ts';
import type { Step } from './context.ts';

export function readRequest(): Step {
  return (ctx, next) => {
    // TRACE makes an app echo the request back, credentials and cookies included (cross-site
    // tracing): never forwarded, on any route or path. (TRACK, IIS's name for it, is not a method
    // Node's parser knows: lifecycle/main-server.ts answers it 405 too.) No Allow: the app's
    // methods are not known here.
    if (ctx.method === 'TRACE') throw new SidecarError('method_not_allowed', 'TRACE is never answered');
    const { rawHeaders, headers } = ctx.req;
    // RFC 9112 §3.2: a request with more than one Host is answered 400. Node keeps the first,
    // the app might take the last; forwarded as is, the app refused it and the client got a 502.
    if (headerCount(rawHeaders, 'host') > 1) throw new BadRequestError('duplicate_host', 'more than one Host header');
    // Node keeps only the first Authorization too; proxies and apps disagree on which one counts.
    if (headers.authorization !== undefined && headerCount(rawHeaders, 'authorization') > 1) {
      throw new BadRequestError('duplicate_authorization', 'more than one Authorization header');
    }
    const socket = ctx.req.socket as TLSSocket;
    ctx.state.facts = requestFacts({
      method: ctx.method,
      target: normalizeTarget(ctx.req.url ?? '/'),
      headers,
      authorization: parseAuthorization(headers.authorization),
      clientAddress: ctx.state.clientAddress,
      via: 'direct',
      // Read only when a method uses it: nothing to pay on a listener without mtls.
      clientCertificate:
        socket.encrypted && ctx.state.runtime.authenticators.has('mtls') ? clientCertificateOf(socket) : undefined,
    });
    return next();
  };
}
