// Refuses what cannot be read unambiguously, before anything acts on it: a second
// Authorization or Host header, and a path that does not normalize (see authz/normalize-path.ts).
import { readAuthorization } from '../authn/authorization-header.ts';
import { normalizeTarget } from '../authz/normalize-path.ts';
import { BadRequestError } from '../errors.ts';
import type { Step } from './context.ts';
import { headerCount } from './raw-http.ts';

export function readTarget(): Step {
  return (ctx, next) => {
    // RFC 9112 §3.2: a request with more than one Host is answered 400. Node keeps the first,
    // the app might take the last; forwarded as is, the app refused it and the client got a 502.
    if (headerCount(ctx.req.rawHeaders, 'host') > 1) {
      throw new BadRequestError('duplicate_host', 'more than one Host header');
    }
    ctx.state.authorization = readAuthorization(ctx.req);
    ctx.state.target = normalizeTarget(ctx.req.url ?? '/');
    return next();
  };
}
