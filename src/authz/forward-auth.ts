// Forward-auth: another proxy asks whether a request it holds may pass, and who made it.
// - `GET {pathPrefix}/auth` (nginx auth_request, Traefik forwardAuth, Caddy forward_auth): the
//   original request is named by X-Forwarded-Uri (or X-Original-URI) and X-Forwarded-Method.
// - `ANY {pathPrefix}/auth/<original path>` (Envoy ext_authz HTTP service): Envoy appends the
//   original path to its path_prefix and keeps the original method.
// Either is believed only from a peer in trustedProxies; anyone else gets the check for a path
// that no route matches. The answer is 202 (200 for Envoy, which only takes 200) with
// X-Auth-Request-* identity headers, 401 with challenges (never a redirect unless the caller
// opts in with `?login=redirect` or `X-Auth-Login: redirect`: nginx only takes 2xx/401/403;
// for a browser page load the 401 names the login in X-Auth-Request-Login instead), or 403. A path the sidecar would refuse to proxy is refused here too (403), so that a proxy
// in front never passes what the sidecar itself would not.
import { identify } from '../authn/authenticate.ts';
import type { Identity } from '../authn/identity.ts';
import { ForbiddenError, SidecarError, UnauthorizedError } from '../errors.ts';
import { challenges } from '../http/challenge.ts';
import type { Context } from '../http/context.ts';
import type { Endpoint } from '../http/sidecar-endpoints.ts';
import { unmapIPv4 } from '../http/trusted-proxies.ts';
import { isBrowserNavigation } from '../oidc/login-redirect.ts';
import type { Services } from '../runtime.ts';
import { identityFields } from '../upstream/headers.ts';
import { decide, forbidden } from './authorize.ts';
import { normalizeTarget, type Target } from './normalize-path.ts';
import { preflightFor } from './preflight.ts';
import type { Route } from './route-table.ts';

/** The response headers of an allowed check, as nginx, Traefik, Caddy and Envoy copy them. */
export const AUTH_REQUEST_HEADERS = {
  user: 'X-Auth-Request-User',
  email: 'X-Auth-Request-Email',
  groups: 'X-Auth-Request-Groups',
  preferredUsername: 'X-Auth-Request-Preferred-Username',
  accessToken: 'X-Auth-Request-Access-Token',
} as const;

const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ANY_METHOD = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The request a forward-auth call asks about. */
export interface OriginalRequest {
  /** Undefined when the caller did not say (then only routes without `methods` apply). */
  readonly method: string | undefined;
  /** Undefined when the caller did not say, or is not trusted: the default route applies. */
  readonly target: Target | undefined;
}

/** `GET {pathPrefix}/auth`: the original request comes in X-Forwarded-* headers. */
export function forwardAuthEndpoint(services: Services): Endpoint {
  return {
    methods: ['GET', 'HEAD'],
    handle: (ctx) => check(ctx, services, { allowedStatus: 202, original: () => fromHeaders(ctx) }),
  };
}

/** `ANY {pathPrefix}/auth/<path>`: Envoy's form, the original path and method in the request line. */
export function envoyAuthEndpoint(services: Services): Endpoint {
  return {
    methods: ANY_METHOD,
    handle: (ctx) => check(ctx, services, { allowedStatus: 200, original: () => fromRequestLine(ctx) }),
  };
}

interface CheckOptions {
  readonly allowedStatus: 200 | 202;
  readonly original: () => OriginalRequest;
}

async function check(ctx: Context, services: Services, options: CheckOptions): Promise<void> {
  const { runtime } = ctx.state;
  ctx.set('Cache-Control', 'no-store');
  const original = trustedPeer(ctx) ? options.original() : { method: undefined, target: undefined };
  const route = selectRoute(ctx, original);
  ctx.state.checked = {
    method: original.method ?? null,
    path: original.target?.matchPath ?? null,
    route: route.pattern,
  };
  if (route.auth === 'none' || (route.preflight && preflightFor(original.method, ctx.req.headers) !== undefined)) {
    services.metrics.authDecisions.inc({ method: 'none', result: 'public' });
    return allowed(ctx, options.allowedStatus);
  }
  let identity: Identity;
  try {
    identity = await identify(ctx, route.auth, services);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    return refuseUnauthenticated(ctx, route, error, original);
  }
  ctx.state.identity = identity;
  const decision = decide(identity, route, services);
  if (!decision.allow) {
    ctx.state.denied = decision.reason;
    return answer(ctx, forbidden(decision, identity, route, runtime.realm));
  }
  setIdentityHeaders(ctx, identity);
  allowed(ctx, options.allowedStatus);
}

function allowed(ctx: Context, status: 200 | 202): void {
  ctx.status = status;
  ctx.body = ''; // not Koa's default "Accepted" text: the answer is in the headers
}

function trustedPeer(ctx: Context): boolean {
  return ctx.state.runtime.trustedProxies.trusts(unmapIPv4(ctx.req.socket.remoteAddress ?? ''));
}

function selectRoute(ctx: Context, original: OriginalRequest): Route {
  const { routes } = ctx.state.runtime;
  if (original.target === undefined) return routes.defaultRoute;
  try {
    return routes.select({
      method: original.method,
      target: original.target,
      preflightFor: preflightFor(original.method, ctx.req.headers),
    });
  } catch (error) {
    throw asForbidden(error);
  }
}

/** X-Forwarded-Uri or X-Original-URI (one of them, once) and X-Forwarded-Method. */
function fromHeaders(ctx: Context): OriginalRequest {
  const uris = [...headerValues(ctx, 'x-forwarded-uri'), ...headerValues(ctx, 'x-original-uri')];
  if (new Set(uris).size > 1) {
    // A proxy sets one of them; a second one came from the client through it.
    throw new ForbiddenError('X-Forwarded-Uri and X-Original-URI disagree', 'ambiguous_forwarded_uri');
  }
  const methods = headerValues(ctx, 'x-forwarded-method');
  if (methods.length > 1 || (methods[0] !== undefined && !METHOD_TOKEN.test(methods[0]))) {
    throw new ForbiddenError('X-Forwarded-Method is not one method', 'invalid_forwarded_method');
  }
  return { method: methods[0], target: uris[0] === undefined ? undefined : parseTarget(uris[0]) };
}

/** Envoy: `{pathPrefix}/auth` followed by the original path (and query), as sent. */
function fromRequestLine(ctx: Context): OriginalRequest {
  const prefix = `${ctx.state.runtime.config.pathPrefix}/auth`;
  const raw = ctx.req.url ?? '';
  if (!raw.startsWith(`${prefix}/`)) {
    throw new ForbiddenError('the original path must follow the check path as sent', 'invalid_path');
  }
  return { method: ctx.method, target: parseTarget(raw.slice(prefix.length)) };
}

function parseTarget(uri: string): Target {
  try {
    return normalizeTarget(uri);
  } catch (error) {
    throw asForbidden(error);
  }
}

/** A path the sidecar would refuse (400) is a refusal (403) here: forward-auth answers 2xx/401/403 only. */
function asForbidden(error: unknown): unknown {
  if (!(error instanceof SidecarError) || error.status !== 400) return error;
  return new ForbiddenError(error.message, error.code);
}

/** Every line of a header, unsplit: a URI may hold a comma. */
function headerValues(ctx: Context, name: string): string[] {
  return ctx.req.headersDistinct[name] ?? [];
}

function refuseUnauthenticated(ctx: Context, route: Route, error: UnauthorizedError, original: OriginalRequest): void {
  const { runtime } = ctx.state;
  const login = loginUrl(ctx, route, original);
  if (login !== undefined) {
    if (ctx.query.login === 'redirect' || ctx.get('x-auth-login') === 'redirect') {
      ctx.status = 302;
      ctx.set('Location', login);
      return;
    }
    // nginx cannot take a 302 from auth_request: it reads this header and redirects itself.
    ctx.set('X-Auth-Request-Login', login);
  }
  const values = challenges(route.auth === 'none' ? [] : route.auth, runtime.realm, error.rejection);
  if (values.length > 0) ctx.set('WWW-Authenticate', values);
  answer(ctx, error);
}

/**
 * Where a browser without credentials should log in: only for a page load on a route that
 * accepts login sessions. Callers that pass the answer to the browser (Traefik, Caddy, Envoy)
 * may ask for it as a 302; everyone else gets the 401 with X-Auth-Request-Login.
 */
function loginUrl(ctx: Context, route: Route, original: OriginalRequest): string | undefined {
  const { login } = ctx.state.runtime;
  if (login === undefined || route.auth === 'none' || !route.auth.includes('session')) return undefined;
  if (!isBrowserNavigation({ method: original.method ?? ctx.method, headers: ctx.req.headers })) return undefined;
  const rd = original.target ? original.target.forwardPath + original.target.query : '/';
  return `${login.startPath}?rd=${encodeURIComponent(rd)}`;
}

function answer(ctx: Context, error: SidecarError): void {
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
  ctx.body = { error: error.code, message: error.message, requestId: ctx.state.requestId };
}

function setIdentityHeaders(ctx: Context, identity: Identity): void {
  const fields = identityFields(identity, ctx.state.runtime.headerPolicy);
  for (const [field, value] of Object.entries(fields)) {
    ctx.set(AUTH_REQUEST_HEADERS[field as keyof typeof fields], value);
  }
}
