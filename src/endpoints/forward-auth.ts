// Forward-auth: another proxy asks whether a request it holds may pass, and who made it.
// - `GET {pathPrefix}/auth` (nginx auth_request, Traefik forwardAuth, Caddy forward_auth): the
//   original request is named by X-Forwarded-Uri (or X-Original-URI) and X-Forwarded-Method.
// - `ANY {pathPrefix}/auth/<original path>` (Envoy ext_authz HTTP service): Envoy appends the
//   original path to its path_prefix and keeps the original method.
// Either is believed only from a peer in trustedProxies; anyone else gets the check for a path
// that no route matches. The decision is the pipeline's own (decision/decide.ts); this only
// renders it: 202 (200 for Envoy, which only takes 200) with X-Auth-Request-* identity headers
// (and the identityHeaders and identity token under their own names, as the app would get them),
// 401 with the same challenges (never a redirect unless the caller opts in with
// `?login=redirect` or `X-Auth-Login: redirect`: nginx only takes 2xx/401/403; for a browser
// page load the 401 names the login in X-Auth-Request-Login instead), 403, or 429. A path the
// sidecar would refuse to proxy is refused here too (403), so that a proxy in front never
// passes what the sidecar itself would not.
import type { Identity } from '../authn/identity.ts';
import { decide } from '../decision/decide.ts';
import { type RequestFacts, requestFacts } from '../decision/facts.ts';
import type { Services } from '../decision/runtime.ts';
import { ForbiddenError, SidecarError } from '../errors.ts';
import type { Context } from '../http/context.ts';
import { countDecision } from '../http/decide-request.ts';
import type { Endpoint } from '../http/sidecar-endpoints.ts';
import { unmapIPv4 } from '../net/address.ts';
import { normalizeTarget, type Target } from '../net/normalize-path.ts';
import { headerLines } from '../net/raw-http.ts';
import { claimHeaderValue, identityFields } from '../upstream/headers.ts';

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
  ctx.set('Cache-Control', 'no-store');
  const original = trustedPeer(ctx) ? options.original() : { method: undefined, target: undefined };
  const facts: RequestFacts = requestFacts({
    ...(ctx.state.facts as RequestFacts),
    method: original.method,
    target: original.target,
    via: 'check',
  });
  const decision = await decide(facts, ctx.state.runtime).catch((error: unknown) => {
    throw asForbidden(error);
  });
  countDecision(services.metrics, decision);
  if (decision.kind === 'endpoint') throw new Error('forward-auth: a check is never an endpoint');
  ctx.state.checked = {
    method: original.method ?? null,
    path: original.target?.matchPath ?? null,
    route: decision.route.pattern,
  };
  switch (decision.kind) {
    case 'public':
      return allowed(ctx, options.allowedStatus);
    case 'allowed':
      ctx.state.identity = decision.identity;
      await setIdentityHeaders(ctx, decision.identity);
      return allowed(ctx, options.allowedStatus);
    case 'forbidden':
      ctx.state.identity = decision.identity;
      ctx.state.denied = decision.reason;
      return answer(ctx, decision.error);
    case 'unauthenticated':
      if (decision.loginUrl !== undefined) {
        if (ctx.query.login === 'redirect' || ctx.get('x-auth-login') === 'redirect') {
          ctx.status = 302;
          ctx.set('Location', decision.loginUrl);
          return;
        }
        // nginx cannot take a 302 from auth_request: it reads this header and redirects itself.
        ctx.set('X-Auth-Request-Login', decision.loginUrl);
      }
      return answer(ctx, decision.error);
    case 'throttled':
      throw decision.error;
  }
}

function allowed(ctx: Context, status: 200 | 202): void {
  ctx.status = status;
  ctx.body = ''; // not Koa's default "Accepted" text: the answer is in the headers
}

function trustedPeer(ctx: Context): boolean {
  return ctx.state.runtime.trustedProxies.has(unmapIPv4(ctx.req.socket.remoteAddress ?? ''));
}

/** X-Forwarded-Uri or X-Original-URI (one of them, once) and X-Forwarded-Method. */
function fromHeaders(ctx: Context): OriginalRequest {
  const raw = ctx.req.rawHeaders;
  const uris = [...headerLines(raw, 'x-forwarded-uri'), ...headerLines(raw, 'x-original-uri')];
  if (new Set(uris).size > 1) {
    // A proxy sets one of them; a second one came from the client through it.
    throw new ForbiddenError('X-Forwarded-Uri and X-Original-URI disagree', 'ambiguous_forwarded_uri');
  }
  const methods = headerLines(raw, 'x-forwarded-method');
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

function answer(ctx: Context, error: SidecarError): void {
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
  ctx.body = { error: error.code, message: error.message, requestId: ctx.state.requestId };
}

/**
 * The built-in identity headers as X-Auth-Request-* (what nginx, Traefik and Caddy configs copy
 * from oauth2-proxy); identityHeaders and the identity token under their own names, so that
 * Traefik's authResponseHeaders, Caddy's copy_headers and Envoy's allowed_upstream_headers pass
 * them on to the app exactly as the sidecar itself would send them.
 */
async function setIdentityHeaders(ctx: Context, identity: Identity): Promise<void> {
  const { headerPolicy: policy, identityToken: signer } = ctx.state.runtime;
  const fields = identityFields(identity, policy);
  for (const [field, value] of Object.entries(fields)) {
    ctx.set(AUTH_REQUEST_HEADERS[field as keyof typeof fields], value);
  }
  for (const header of policy.claimHeaders ?? []) {
    const value = claimHeaderValue(identity, header);
    if (value !== undefined) ctx.set(header.name, value);
  }
  if (signer) ctx.set(signer.header, signer.cached(identity) ?? (await signer.sign(identity)));
}
