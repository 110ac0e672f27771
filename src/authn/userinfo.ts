// GET {pathPrefix}/userinfo: the caller's identity as JSON, by any configured method, or 401.
import type { Endpoint } from '../http/sidecar-endpoints.ts';
import type { Services } from '../runtime.ts';
import { identify } from './authenticate.ts';

export function userinfoEndpoint(services: Services): Endpoint {
  return {
    methods: ['GET', 'HEAD'],
    async handle(ctx) {
      const methods = ctx.state.runtime.routes.defaultRoute.auth;
      const identity = await identify(ctx, methods === 'none' ? [] : methods, services);
      ctx.state.identity = identity;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        user: identity.user,
        email: identity.email ?? null,
        groups: identity.groups,
        authMethod: identity.method,
      };
    },
  };
}
