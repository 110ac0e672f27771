// Refuses what cannot be read unambiguously, before anything acts on it: a second
// Authorization header, and a path that does not normalize (see authz/normalize-path.ts).
import { readAuthorization } from '../authn/authorization-header.ts';
import { normalizeTarget } from '../authz/normalize-path.ts';
import type { Step } from './context.ts';

export function readTarget(): Step {
  return (ctx, next) => {
    ctx.state.authorization = readAuthorization(ctx.req);
    ctx.state.target = normalizeTarget(ctx.req.url ?? '/');
    return next();
  };
}
