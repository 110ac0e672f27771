// The one decision, for every place that asks: the pipeline (a request to this listener),
// forward-auth (a request another proxy holds) and `explain` (a request on the command line)
// all call decide() and only render what it returns. In order:
//   1. the sidecar's own endpoints under pathPrefix (direct requests only): not decided here;
//   2. the route: first whose glob and methods match the normalized path (400 when ambiguous);
//   3. the client address: a route with allow.sourceCidrs refuses (403, no challenge) a client
//      from elsewhere before anything else, public routes and preflights included;
//   4. public: an `auth: "none"` route, or a CORS preflight on a route that lets them pass;
//   5. authenticate with the route's methods: the first that recognises its credential decides,
//      a credential present but invalid is refused (never a fall-through), none is refused too;
//   6. authorize: the route's allow rules on the identity.
// A dependency that is down (session store, JWKS) is not a decision: it throws its 503.
import { authenticateWith } from '../authn/authenticator.ts';
import type { Identity } from '../authn/identity.ts';
import { admitsAddress, evaluate } from '../authz/policy.ts';
import type { Route, RouteTable } from '../authz/route-table.ts';
import type { AuthMethod } from '../config/schema.ts';
import { ForbiddenError, TooManyAttemptsError, UnauthorizedError } from '../errors.ts';
import { loginUrlFor } from './browser.ts';
import { challenges, insufficientScopeChallenge } from './challenges.ts';
import type { RequestFacts } from './facts.ts';
import type { Runtime } from './runtime.ts';

export type Decision =
  | { readonly kind: 'endpoint'; readonly name: string }
  | { readonly kind: 'public'; readonly route: Route; readonly reason: string }
  | { readonly kind: 'allowed'; readonly route: Route; readonly identity: Identity; readonly reason: string }
  | Refusal;

/** A refusal carries its answer: status, code, message and headers (challenges, Retry-After). */
export type Refusal =
  | {
      readonly kind: 'unauthenticated';
      readonly route: Route;
      readonly error: UnauthorizedError;
      /** Where a browser navigation would log in, when the route accepts login sessions. */
      readonly loginUrl: string | undefined;
    }
  | {
      readonly kind: 'forbidden';
      readonly route: Route;
      /** Null when the client address was refused before any credential was looked at. */
      readonly identity: Identity | null;
      /** Which allow rule did not hold; logged, never sent. */
      readonly reason: string;
      readonly error: ForbiddenError;
    }
  | { readonly kind: 'throttled'; readonly route: Route; readonly error: TooManyAttemptsError };

/**
 * Finds the identity a request proves with one of `methods`; null when it carries none.
 * Throws UnauthorizedError for a credential that is refused, TooManyAttemptsError for a
 * locked-out one. `explain --claims` passes its own, which takes the given claims as verified.
 */
export type Identify = (
  facts: RequestFacts,
  methods: readonly AuthMethod[],
  runtime: Runtime,
) => Promise<Identity | null>;

export async function decide(
  facts: RequestFacts,
  runtime: Runtime,
  identify: Identify = identifyByRoute,
): Promise<Decision> {
  const prefix = runtime.config.pathPrefix;
  if (facts.via === 'direct' && facts.target && isSidecarPath(facts.target.matchPath, prefix)) {
    return { kind: 'endpoint', name: facts.target.matchPath.slice(prefix.length) };
  }
  const route = selectRoute(facts, runtime.routes);
  const source = admitsAddress(route.sources, facts.clientAddress);
  if (!source.allow) {
    return { kind: 'forbidden', route, identity: null, reason: source.reason, error: new ForbiddenError() };
  }
  if (route.auth === 'none') {
    return {
      kind: 'public',
      route,
      reason: route.sources ? 'the route is public to the listed addresses' : 'the route is public',
    };
  }
  if (route.preflight !== false && facts.preflight !== undefined) {
    const setting = route.preflight === 'allow' ? 'on a route with preflight: allow' : 'with skipAuthPreflight';
    return { kind: 'public', route, reason: `a CORS preflight for ${facts.preflight} ${setting}` };
  }
  let identity: Identity | null;
  try {
    identity = await identify(facts, route.auth, runtime);
  } catch (error) {
    if (error instanceof UnauthorizedError) return unauthenticated(facts, route, runtime, error);
    if (error instanceof TooManyAttemptsError) return { kind: 'throttled', route, error };
    throw error;
  }
  if (identity === null) return unauthenticated(facts, route, runtime, new UnauthorizedError());
  return authorize(identity, route, runtime);
}

/** The route's authenticators, in the order the route table gives them. */
export const identifyByRoute: Identify = (facts, methods, runtime) =>
  authenticateWith(
    methods.flatMap((m) => runtime.authenticators.get(m) ?? []),
    facts,
  );

/** Whether a normalized path is under pathPrefix: the sidecar answers it, never the app. */
export function isSidecarPath(matchPath: string, pathPrefix: string): boolean {
  return matchPath === pathPrefix || matchPath.startsWith(`${pathPrefix}/`);
}

function selectRoute(facts: RequestFacts, routes: RouteTable): Route {
  if (facts.target === undefined) return routes.defaultRoute;
  return routes.select({ method: facts.method, target: facts.target, preflightFor: facts.preflight });
}

/** The refusal with the route's challenges, one per scheme it accepts (RFC 9110 §11.6.1). */
function unauthenticated(facts: RequestFacts, route: Route, runtime: Runtime, refused: UnauthorizedError): Refusal {
  const methods = route.auth === 'none' ? [] : route.auth;
  const values = challenges(methods, runtime.realm, refused.rejection, runtime.login);
  const headers = values.length > 0 ? { ...refused.headers, 'WWW-Authenticate': values } : refused.headers;
  const error = new UnauthorizedError(refused.rejection, { headers });
  return { kind: 'unauthenticated', route, error, loginUrl: loginUrlFor(facts, route, runtime) };
}

/**
 * The route's allow rules. A bearer token that only lacks scopes gets RFC 6750's
 * `error="insufficient_scope"` challenge with the 403, so a client knows a token with more
 * scopes would do.
 */
function authorize(identity: Identity, route: Route, runtime: Runtime): Decision {
  const verdict = evaluate(identity, route.allow);
  if (verdict.allow) {
    const reason = route.sources ? `the client address is listed; ${verdict.reason}` : verdict.reason;
    return { kind: 'allowed', route, identity, reason };
  }
  if (verdict.rule === 'scopes' && identity.method === 'jwt') {
    const challenge = insufficientScopeChallenge(runtime.realm, route.allow?.scopes ?? verdict.missingScopes);
    const error = new ForbiddenError('the token lacks a scope the route requires', 'insufficient_scope', {
      headers: { 'WWW-Authenticate': challenge },
    });
    return { kind: 'forbidden', route, identity, reason: verdict.reason, error };
  }
  return { kind: 'forbidden', route, identity, reason: verdict.reason, error: new ForbiddenError() };
}
