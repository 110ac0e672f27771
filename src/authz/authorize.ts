// Applies the route's allow rules to the identity: 403 when they do not hold. A bearer token
// that only lacks scopes gets RFC 6750's `error="insufficient_scope"` challenge with the 403,
// so that a client knows a token with more scopes would do.
import type { Identity } from '../authn/identity.ts';
import { ForbiddenError } from '../errors.ts';
import { insufficientScopeChallenge } from '../http/challenge.ts';
import type { Step } from '../http/context.ts';
import type { Services } from '../runtime.ts';
import { type Decision, evaluate } from './policy.ts';
import type { Route } from './route-table.ts';

export function authorize(services: Services): Step {
  return (ctx, next) => {
    const { identity, route, runtime } = ctx.state;
    if (!identity) return next();
    const decision = decide(identity, route, services);
    if (!decision.allow) {
      ctx.state.denied = decision.reason;
      throw forbidden(decision, identity, route, runtime.realm);
    }
    return next();
  };
}

/** The route's decision for an identity, counted in auth_sidecar_auth_decisions_total. */
export function decide(identity: Identity, route: Route | undefined, services: Services): Decision {
  const decision = evaluate(identity, route?.allow);
  services.metrics.authDecisions.inc({ method: identity.method, result: decision.allow ? 'allowed' : 'denied' });
  return decision;
}

export function forbidden(
  decision: Decision,
  identity: Identity,
  route: Route | undefined,
  realm: string,
): ForbiddenError {
  if (!decision.allow && decision.rule === 'scopes' && identity.method === 'jwt') {
    const challenge = insufficientScopeChallenge(realm, route?.allow?.scopes ?? decision.missingScopes);
    return new ForbiddenError('the token lacks a scope the route requires', 'insufficient_scope', {
      headers: { 'www-authenticate': challenge },
    });
  }
  return new ForbiddenError();
}
