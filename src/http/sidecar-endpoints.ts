// The sidecar's own endpoints under pathPrefix. They are never proxied and route rules do not
// apply to them; an unknown path under the prefix is a 404 from the sidecar.
import { NotFoundError, SidecarError } from '../errors.ts';
import type { Context, Step } from './context.ts';

export interface Endpoint {
  readonly methods: readonly string[];
  handle(ctx: Context): Promise<void> | void;
}

export function sidecarEndpoints(endpoints: ReadonlyMap<string, Endpoint>): Step {
  return (ctx, next) => {
    const { decision } = ctx.state;
    if (decision?.kind !== 'endpoint') return next();
    const { name } = decision;
    // "/auth/" names an endpoint that also takes every path below it (Envoy's ext_authz form).
    const endpoint = endpoints.get(name) ?? endpoints.get(name.slice(0, name.indexOf('/', 1) + 1));
    if (!endpoint) throw new NotFoundError();
    if (!endpoint.methods.includes(ctx.method)) {
      throw new SidecarError('method_not_allowed', `use ${endpoint.methods.join(' or ')}`, {
        headers: { allow: endpoint.methods.join(', ') },
      });
    }
    return endpoint.handle(ctx);
  };
}
