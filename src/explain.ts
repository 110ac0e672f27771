// `auth-sidecar explain`: what the sidecar would decide for one request, and why, with the same
// code the request path runs (normalization, route table, authenticators, allow rules). It
// answers what a sidecar otherwise hides: which rule matched, what it accepts, who the caller
// is, and the decision with its reason.
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { authenticateWith } from './authn/authenticator.ts';
import { readAuthorization } from './authn/authorization-header.ts';
import { type Identity, identityFromClaims } from './authn/identity.ts';
import { forbidden } from './authz/authorize.ts';
import { normalizeTarget, type Target } from './authz/normalize-path.ts';
import { evaluate } from './authz/policy.ts';
import { preflightFor } from './authz/preflight.ts';
import type { Route } from './authz/route-table.ts';
import type { AuthMethod } from './config/schema.ts';
import { SidecarError, UnauthorizedError } from './errors.ts';
import { challenges } from './http/challenge.ts';
import { isSidecarPath } from './http/sidecar-endpoints.ts';
import type { Runtime } from './runtime.ts';

export interface ExplainInput {
  readonly method: string;
  /** The request target as a client would send it: path and query. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Claims taken as already verified, mapped as the method `claimsVia` maps them. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  readonly claimsVia?: AuthMethod;
}

export interface Explanation {
  readonly request: string;
  readonly target?: Target;
  readonly route?: Route;
  readonly identity?: Identity | null;
  /** What happened to credentials, when that explains the identity line. */
  readonly identityNote?: string;
  /**
   * Undefined for the sidecar's own endpoints (under pathPrefix): route rules do not decide
   * their answer, and they are never proxied.
   */
  readonly status: number | undefined;
  readonly decision: string;
  readonly headers: Readonly<Record<string, string | string[]>>;
}

export async function explain(runtime: Runtime, input: ExplainInput): Promise<Explanation> {
  const request = `${input.method} ${input.target}`;
  let target: Target;
  let route: Route;
  const preflight = preflightFor(input.method, lowerCased(input.headers));
  try {
    target = normalizeTarget(input.target);
    // As on the request path: the sidecar's own endpoints are matched before any route rule.
    if (isSidecarPath(target.matchPath, runtime.config.pathPrefix))
      return endpointExplanation(request, target, runtime);
    route = runtime.routes.select({ method: input.method, target, preflightFor: preflight });
  } catch (error) {
    if (!(error instanceof SidecarError)) throw error;
    return { request, status: error.status, decision: `refused (${error.code}): ${error.message}`, headers: {} };
  }
  const base = { request, target, route };
  if (route.auth === 'none') {
    return {
      ...base,
      identity: null,
      status: 200,
      decision: 'allowed without credentials: the route is public',
      headers: {},
    };
  }
  if (route.preflight && preflight !== undefined) {
    const decision = `allowed without credentials: a CORS preflight for ${preflight} on a route with preflight: allow`;
    return { ...base, identity: null, status: 200, decision, headers: {} };
  }
  const found = await identityOf(runtime, route, input);
  if ('error' in found) {
    const { error, note } = found;
    const values = challenges(route.auth, runtime.realm, error.rejection);
    const headers: Record<string, string[]> = values.length > 0 ? { 'WWW-Authenticate': values } : {};
    const decision = `refused (${error.code}): ${error.message}`;
    return { ...base, identity: null, identityNote: note, status: 401, decision, headers };
  }
  const { identity } = found;
  const verdict = evaluate(identity, route.allow);
  if (verdict.allow) return { ...base, identity, status: 200, decision: `allowed: ${verdict.reason}`, headers: {} };
  const refusal = forbidden(verdict, identity, route, runtime.realm);
  const decision = `refused (${refusal.code}): ${verdict.reason}`;
  return { ...base, identity, status: 403, decision, headers: refusal.headers };
}

function endpointExplanation(request: string, target: Target, runtime: Runtime): Explanation {
  const prefix = runtime.config.pathPrefix;
  const decision = `not decided by route rules: the sidecar answers ${prefix}/* itself and never proxies it`;
  return { request, target, status: undefined, decision, headers: {} };
}

type Found = { identity: Identity } | { error: UnauthorizedError; note: string };

async function identityOf(runtime: Runtime, route: Route, input: ExplainInput): Promise<Found> {
  const accepted = route.auth === 'none' ? [] : route.auth;
  if (input.claims !== undefined) return identityFromGivenClaims(runtime, accepted, input);
  const req = new IncomingMessage(new Socket());
  req.method = input.method;
  req.url = input.target;
  req.rawHeaders = Object.entries(input.headers).flat();
  req.headers = lowerCased(input.headers);
  req.headersDistinct = Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [name, [value as string]]),
  );
  const authorization = readAuthorization(req);
  const authenticators = accepted.flatMap((m) => runtime.authenticators.get(m) ?? []);
  try {
    const identity = await authenticateWith(authenticators, { req, authorization, clientAddress: '127.0.0.1' });
    if (identity !== null) return { identity };
  } catch (error) {
    if (error instanceof UnauthorizedError)
      return { error, note: `the ${error.rejection?.method} credential was refused` };
    throw error;
  }
  const sent = authorization ? `a ${authorization.scheme || 'malformed'} credential, but` : 'no credential;';
  return { error: new UnauthorizedError(), note: `${sent} the route accepts ${accepted.join(', ')}` };
}

function identityFromGivenClaims(runtime: Runtime, accepted: readonly AuthMethod[], input: ExplainInput): Found {
  const via = input.claimsVia ?? 'jwt';
  if (!accepted.includes(via)) {
    return {
      error: new UnauthorizedError(),
      note: `the route does not accept ${via} (it accepts ${accepted.join(', ')})`,
    };
  }
  const config = runtime.config;
  const names =
    via === 'session'
      ? config.oidc?.claims
      : (
          config.jwt?.find((entry) => entry.issuer !== undefined && entry.issuer === input.claims?.iss) ??
          config.jwt?.[0]
        )?.claims;
  const identity = names ? identityFromClaims(input.claims ?? {}, names, via) : null;
  if (identity === null) {
    return { error: new UnauthorizedError(), note: `the claims have no user claim ("${names?.user ?? 'sub'}")` };
  }
  return { identity };
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** The explanation as the lines `explain` prints. */
export function formatExplanation(result: Explanation): string {
  const lines = [`request:  ${result.request}`];
  if (result.target) {
    const { matchPath, literalPath, forwardPath, query } = result.target;
    const readings = literalPath === matchPath ? '' : ` (with parameters: ${literalPath})`;
    const where = result.status === undefined ? 'a sidecar endpoint' : `the app would get ${forwardPath}${query}`;
    lines.push(`path:     ${matchPath}${readings}; ${where}`);
  }
  if (result.route) lines.push(...routeLines(result.route));
  if (result.identity !== undefined) lines.push(`identity: ${identityLine(result.identity, result.identityNote)}`);
  lines.push(`decision: ${result.status === undefined ? '' : `${result.status} `}${result.decision}`);
  for (const [name, value] of Object.entries(result.headers)) {
    const shown = name.toLowerCase() === 'www-authenticate' ? 'WWW-Authenticate' : name;
    for (const one of Array.isArray(value) ? value : [value]) lines.push(`  ${shown}: ${one}`);
  }
  return `${lines.join('\n')}\n`;
}

function routeLines(route: Route): string[] {
  const name = route.index === null ? 'default (no route matched)' : `routes.${route.index} "${route.pattern}"`;
  const allow = route.allow
    ? Object.entries(route.allow)
        .map(([key, values]) => `${key} ${(values as string[]).join(', ')}`)
        .join('; ')
    : 'any identity';
  return [
    `route:    ${name}`,
    `  methods: ${route.methods ? route.methods.join(', ') : 'any'}`,
    `  auth:    ${route.auth === 'none' ? 'none (public)' : route.auth.join(', ')}`,
    `  allow:   ${route.auth === 'none' ? 'everyone' : allow}`,
    `  preflight: ${route.preflight ? 'allow' : 'deny'}`,
  ];
}

function identityLine(identity: Identity | null, note: string | undefined): string {
  if (identity === null) return note ? `none: ${note}` : 'none needed';
  const parts = [`${identity.user} (${identity.method})`];
  if (identity.email !== undefined) parts.push(`email ${identity.email}`);
  if (identity.preferredUsername !== undefined) parts.push(`name ${identity.preferredUsername}`);
  parts.push(`groups ${identity.groups.length > 0 ? identity.groups.join(',') : '(none)'}`);
  parts.push(`scopes ${identity.scopes.length > 0 ? identity.scopes.join(' ') : '(none)'}`);
  return parts.join(', ');
}
