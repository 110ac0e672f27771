// GET {pathPrefix}/userinfo: the caller's identity as JSON, by any configured method, or 401
// with the challenges the default rule gives (never a login redirect: an endpoint answers).
// A login session from a named provider also says which (`provider`).
import { decide } from '../decision/decide.ts';
import type { RequestFacts } from '../decision/facts.ts';
import type { Endpoint } from '../http/sidecar-endpoints.ts';

export function userinfoEndpoint(): Endpoint {
  return {
    methods: ['GET', 'HEAD'],
    async handle(ctx) {
      const facts = { ...(ctx.state.facts as RequestFacts), target: undefined, via: 'check' as const };
      const decision = await decide(facts, ctx.state.runtime);
      if (decision.kind === 'unauthenticated' || decision.kind === 'throttled') throw decision.error;
      if (decision.kind !== 'allowed') throw new Error(`userinfo: unexpected decision ${decision.kind}`);
      const { identity } = decision;
      ctx.state.identity = identity;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        user: identity.user,
        email: identity.email ?? null,
        groups: identity.groups,
        authMethod: identity.method,
        ...(identity.provider === undefined ? {} : { provider: identity.provider }),
      };
    },
  };
}
