// `auth-sidecar explain`: what the sidecar would decide for one request, and why. It runs the
// one decision the request path runs (decision/decide.ts: normalization, the route table, the
// authenticators, the allow rules) and renders it as text: which rule matched, what it
// accepts, who the caller is, and the answer with its reason.
import { parseAuthorization } from './authn/authorization-header.ts';
import { type Identity, identityFromClaims } from './authn/identity.ts';
import type { Route } from './authz/route-table.ts';
import type { AuthMethod } from './config/schema.ts';
import { type Decision, decide, type Identify, identifyByRoute } from './decision/decide.ts';
import { type RequestFacts, requestFacts } from './decision/facts.ts';
import type { Runtime } from './decision/runtime.ts';
import { SidecarError } from './errors.ts';
import { clientAddress } from './net/address.ts';
import type { ClientCertificate } from './net/client-certificate.ts';
import { normalizeTarget, type Target } from './net/normalize-path.ts';

export interface ExplainInput {
  readonly method: string;
  /** The request target as a client would send it: path and query. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Claims taken as already verified, mapped as the method `claimsVia` maps them. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  readonly claimsVia?: AuthMethod;
  /**
   * The address the request comes from (default 127.0.0.1). From a peer in trustedProxies the
   * client is read from the X-Forwarded-For header, as the request path reads it.
   */
  readonly peer?: string | undefined;
  /** The client certificate of the connection, as `--cert` presents it (tls/offline-verify.ts). */
  readonly clientCertificate?: ClientCertificate | undefined;
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
  const headers = lowerCased(input.headers);
  let note: string | undefined;
  const identify: Identify =
    input.claims === undefined
      ? identifyByRoute
      : async (_facts, methods) => {
          const found = identityFromGivenClaims(runtime, methods, input.claims ?? {}, input.claimsVia ?? 'jwt');
          if (typeof found === 'string') note = found;
          return typeof found === 'string' ? null : found;
        };
  let facts: RequestFacts;
  let decision: Decision;
  try {
    facts = requestFacts({
      method: input.method,
      target: normalizeTarget(input.target),
      headers,
      authorization: parseAuthorization(headers.authorization),
      clientAddress: clientAddress(
        input.peer ?? '127.0.0.1',
        () => (headers['x-forwarded-for'] === undefined ? undefined : [headers['x-forwarded-for']]),
        runtime.trustedProxies,
      ),
      via: 'direct',
      clientCertificate: input.clientCertificate,
    });
    decision = await decide(facts, runtime, identify);
  } catch (error) {
    if (!(error instanceof SidecarError)) throw error;
    return { request, status: error.status, decision: `refused (${error.code}): ${error.message}`, headers: {} };
  }
  const target = facts.target as Target;
  if (decision.kind === 'endpoint') return endpointExplanation(request, target, runtime);
  const base = { request, target, route: decision.route };
  switch (decision.kind) {
    case 'public':
      return {
        ...base,
        identity: null,
        status: 200,
        decision: `allowed without credentials: ${decision.reason}`,
        headers: {},
      };
    case 'allowed':
      return {
        ...base,
        identity: decision.identity,
        status: 200,
        decision: `allowed: ${decision.reason}`,
        headers: {},
      };
    case 'forbidden': {
      const { error } = decision;
      const text = `refused (${error.code}): ${decision.reason}`;
      const identityNote = decision.identity === null ? 'not asked for (the client address decides first)' : undefined;
      return {
        ...base,
        identity: decision.identity,
        identityNote,
        status: 403,
        decision: text,
        headers: error.headers,
      };
    }
    case 'throttled': {
      const { error } = decision;
      return { ...base, status: 429, decision: `refused (${error.code}): ${error.message}`, headers: error.headers };
    }
    case 'unauthenticated': {
      const { error, loginUrl } = decision;
      const identityNote = note ?? credentialNote(facts, decision.route, error.rejection?.method);
      const text = `refused (${error.code}): ${error.message}`;
      if (loginUrl !== undefined) {
        const login = `${text}; a browser page load is sent to the login`;
        return { ...base, identity: null, identityNote, status: 302, decision: login, headers: { Location: loginUrl } };
      }
      const challenge = error.headers['WWW-Authenticate'];
      const shown: Record<string, string | string[]> = challenge === undefined ? {} : { 'WWW-Authenticate': challenge };
      return { ...base, identity: null, identityNote, status: 401, decision: text, headers: shown };
    }
  }
}

function endpointExplanation(request: string, target: Target, runtime: Runtime): Explanation {
  const prefix = runtime.config.pathPrefix;
  const decision = `not decided by route rules: the sidecar answers ${prefix}/* itself and never proxies it`;
  return { request, target, status: undefined, decision, headers: {} };
}

/** What happened to the credential the request carried (or did not). */
function credentialNote(facts: RequestFacts, route: Route, refused: AuthMethod | undefined): string {
  if (refused !== undefined) {
    return refused === 'mtls' ? 'the client certificate was refused' : `the ${refused} credential was refused`;
  }
  const accepted = route.auth === 'none' ? [] : route.auth;
  const { authorization } = facts;
  const sent = authorization ? `a ${authorization.scheme || 'malformed'} credential, but` : 'no credential;';
  return `${sent} the route accepts ${accepted.join(', ')}`;
}

/** The identity the given claims make, mapped as `via` maps them; else why there is none. */
function identityFromGivenClaims(
  runtime: Runtime,
  accepted: readonly AuthMethod[],
  claims: Readonly<Record<string, unknown>>,
  via: AuthMethod,
): Identity | string {
  if (!accepted.includes(via)) return `the route does not accept ${via} (it accepts ${accepted.join(', ')})`;
  if (via === 'session') return sessionFromClaims(runtime, claims);
  const jwt = runtime.config.jwt;
  const names = (jwt?.find((entry) => entry.issuer !== undefined && entry.issuer === claims.iss) ?? jwt?.[0])?.claims;
  const identity = names ? identityFromClaims(claims, names, via) : null;
  return identity ?? `the claims have no user claim ("${names?.user ?? 'sub'}")`;
}

/** A login session of the provider whose issuer the claims' `iss` names (or of the only one). */
function sessionFromClaims(runtime: Runtime, claims: Readonly<Record<string, unknown>>): Identity | string {
  const providers = runtime.login?.providers;
  const provider = providers?.issuedBy(typeof claims.iss === 'string' ? claims.iss : undefined) ?? providers?.only;
  if (provider === undefined) return 'the claims name no oidc provider: give one provider’s issuer as "iss"';
  const identity = identityFromClaims(claims, provider.claims, 'session');
  if (identity === null) return `the claims have no user claim ("${provider.claims.user}")`;
  return { ...identity, provider: provider.name };
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

const PREFLIGHT_SETTING = { allow: 'allow', skipAuthPreflight: 'allow (skipAuthPreflight)' } as const;

function routeLines(route: Route): string[] {
  const name = route.index === null ? 'default (no route matched)' : `routes.${route.index} "${route.pattern}"`;
  const rules = route.allow ? Object.entries(route.allow).map(([key, values]) => `${key} ${allowValues(values)}`) : [];
  const fallback = route.auth === 'none' ? 'everyone' : 'any identity';
  return [
    `route:    ${name}`,
    `  methods: ${route.methods ? route.methods.join(', ') : 'any'}`,
    `  auth:    ${route.auth === 'none' ? 'none (public)' : route.auth.join(', ')}`,
    `  allow:   ${rules.length > 0 ? rules.join('; ') : fallback}`,
    `  preflight: ${route.preflight === false ? 'deny' : PREFLIGHT_SETTING[route.preflight]}`,
  ];
}

/** A list as "a, b"; allow.claims as `department="eng"|"ops", level=3` (types matter). */
function allowValues(values: unknown): string {
  if (Array.isArray(values)) return values.join(', ');
  return Object.entries(values as Record<string, unknown[]>)
    .map(([claim, accepted]) => `${claim}=${accepted.map((v) => JSON.stringify(v)).join('|')}`)
    .join(', ');
}

function identityLine(identity: Identity | null, note: string | undefined): string {
  if (identity === null) return note ? `none: ${note}` : 'none needed';
  const from = identity.provider === undefined ? '' : ` from ${identity.provider}`;
  const parts = [`${identity.user} (${identity.method}${from})`];
  if (identity.email !== undefined) parts.push(`email ${identity.email}`);
  if (identity.preferredUsername !== undefined) parts.push(`name ${identity.preferredUsername}`);
  parts.push(`groups ${identity.groups.length > 0 ? identity.groups.join(',') : '(none)'}`);
  parts.push(`scopes ${identity.scopes.length > 0 ? identity.scopes.join(' ') : '(none)'}`);
  return parts.join(', ');
}
