// The headers the app receives. Built fresh from the client's raw headers in one pass:
// 1. hop-by-hop headers go, and every header the client names in Connection;
// 2. every client copy of an identity, method-override or URL-rewrite header goes (the
//    configured identityHeaders and identity token too), and of a forwarding header unless a
//    trusted proxy sent it, and every client-certificate header (X-Forwarded-Client-Cert, ...),
//    whatever its case and whether spelled with "_" or "-" (WSGI and CGI apps read both alike);
// 3. by default every other header with "_" in its name goes too (nginx's default);
// 4. the sidecar's own cookies (the session ticket, the login cookie) leave the Cookie header;
// then the sidecar's own forwarding and identity headers are added last, so no client header
// (not even one named in Connection) can remove or shadow them.
import { claimAt, claimHeaderText, type Identity } from '../authn/identity.ts';
import { withoutCookies } from '../net/cookies.ts';
import { HOP_BY_HOP_HEADERS, PROXY_ASSERTED_HEADERS } from '../net/reserved-headers.ts';

const HOP_BY_HOP = new Set<string>(HOP_BY_HOP_HEADERS);

/**
 * Headers meant for every recipient (RFC 9110 §7.6.1 forbids naming such a field in
 * Connection): a client that names them anyway must not take the Host away from the app
 * (and X-Forwarded-Host with it), nor strip the bearer token the sidecar let through.
 */
const END_TO_END = new Set(['host', 'authorization', 'content-length', 'content-type']);

/** The sidecar's own identity headers, as sent to the app. */
export const IDENTITY_HEADERS = {
  user: 'X-Forwarded-User',
  email: 'X-Forwarded-Email',
  groups: 'X-Forwarded-Groups',
  preferredUsername: 'X-Forwarded-Preferred-Username',
  accessToken: 'X-Forwarded-Access-Token',
} as const;

/**
 * Always removed from the client's request, in either spelling, whoever sent it: a trusted
 * proxy passes on what its own client sent unless it is told not to. The sidecar alone says who
 * the caller is, and the app must act on the method and path the rules judged, so no header that
 * an app takes as any of those reaches it:
 * - identity: the sidecar's own (added back after this), X-Auth-Request-*, and Remote-User /
 *   X-Remote-User (CGI's REMOTE_USER, which Apache modules and many apps trust);
 * - the method: X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override (Rails, Symfony,
 *   Laravel, ASP.NET...: a route limited to GET would be a POST away), X-Forwarded-Method;
 * - the path: X-Rewrite-URL, X-Original-URL (old Symfony, CVE-2018-14773; Zend, ZF2018-01; IIS
 *   front controllers route on them), X-Original-URI, X-Forwarded-Uri.
 * X-Forwarded-For, -Proto and -Host are removed too; what a trusted proxy said in them is kept
 * when the sidecar adds its own.
 */
const MANAGED = new Set<string>([
  ...Object.values(IDENTITY_HEADERS).map((name) => name.toLowerCase()),
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-auth-request-access-token',
  'remote-user',
  'x-remote-user',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-forwarded-method',
  'x-rewrite-url',
  'x-original-url',
  'x-original-uri',
  'x-forwarded-uri',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

/**
 * Where the request came from (client address, scheme, port, prefix, server): what a trusted
 * proxy in front says about it reaches the app as it was sent; from anyone else it is removed,
 * in either spelling.
 */
const PROXY_ASSERTED = new Set<string>(PROXY_ASSERTED_HEADERS);

/**
 * Client certificates (and their verification results) as TLS-terminating proxies pass them on.
 * The sidecar never sends the app a client certificate: one of these from a client is a claim
 * to a certificate it never proved, to an app that may trust them. Removed from every peer, in
 * either spelling.
 */
const CLIENT_CERTIFICATE = new Set([
  'x-forwarded-client-cert', // Envoy, Istio (XFCC)
  'x-client-cert',
  'ssl-client-cert',
  'client-cert', // RFC 9440
  'client-cert-chain', // RFC 9440
  'x-ssl-client-cert',
  'x-ssl-client-verify',
  'x-ssl-client-dn',
  'x-client-verify',
  'ssl-client-verify',
  'x-arr-clientcert', // Azure App Service
  'x-amzn-mtls-clientcert', // AWS load balancers
  'x-amzn-mtls-clientcert-leaf',
]);

export interface ForwardingFacts {
  /** The peer is in trustedProxies: its X-Forwarded-* are extended, not replaced. */
  readonly trusted: boolean;
  readonly peerAddress: string;
  readonly scheme: 'http' | 'https';
  readonly requestId: string;
  /** The signed identity token for this request's identity, when identityToken is set. */
  readonly identityToken?: string | undefined;
}

/** One identityHeaders entry: the header, and the claim (a dotted path) it is set from. */
export interface ClaimHeader {
  readonly name: string;
  readonly claim: string;
}

export interface HeaderPolicy {
  readonly dropUnderscoreHeaders: boolean;
  /** Keep a Basic Authorization header (basic.passAuthorization). */
  readonly passBasicAuthorization: boolean;
  /** Send the login session's access token (oidc.passAccessToken). */
  readonly passAccessToken: boolean;
  /** Whether a cookie is the sidecar's own: removed from the Cookie header (the app never needs it). */
  readonly dropCookie?: (name: string) => boolean;
  /** identityHeaders, in config order. */
  readonly claimHeaders?: readonly ClaimHeader[];
  /** The header that carries the identity token (identityToken.header). */
  readonly identityTokenHeader?: string;
  /** The two above in lower case: removed from the client's request as the built-in ones are. */
  readonly configuredHeaders?: ReadonlySet<string>;
}

/** Flat [name, value, name, value, ...] as undici and rawHeaders use it. */
export function buildUpstreamHeaders(
  rawHeaders: readonly string[],
  identity: Identity | null,
  facts: ForwardingFacts,
  policy: HeaderPolicy,
  upgrade = false,
): string[] {
  const named = connectionTokens(rawHeaders);
  const out: string[] = [];
  let forwardedFor = '';
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    if (upgrade && lower === 'upgrade') {
      out.push(name, value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || (named?.has(lower) && !END_TO_END.has(lower))) continue;
    if (lower.includes('_')) {
      if (policy.dropUnderscoreHeaders) continue;
      const dashed = lower.replaceAll('_', '-');
      if (MANAGED.has(dashed) || PROXY_ASSERTED.has(dashed) || policy.configuredHeaders?.has(dashed)) continue;
      if (CLIENT_CERTIFICATE.has(dashed)) continue;
    }
    if (CLIENT_CERTIFICATE.has(lower)) continue;
    if (MANAGED.has(lower)) {
      if (facts.trusted) {
        if (lower === 'x-forwarded-for') forwardedFor = forwardedFor ? `${forwardedFor}, ${value}` : value;
        else if (lower === 'x-forwarded-proto') forwardedProto ??= value;
        else if (lower === 'x-forwarded-host') forwardedHost ??= value;
      }
      continue;
    }
    if (policy.configuredHeaders?.has(lower)) continue;
    if (PROXY_ASSERTED.has(lower) && !facts.trusted) continue;
    if (lower === 'authorization' && !policy.passBasicAuthorization && /^basic(?:\s|$)/i.test(value)) continue;
    if (lower === 'cookie' && policy.dropCookie) {
      const kept = withoutCookies(value, policy.dropCookie);
      if (kept !== '') out.push(name, kept);
      continue;
    }
    if (lower === 'host') host ??= value;
    out.push(name, value);
  }
  if (upgrade) out.push('Connection', 'Upgrade');
  out.push(
    'X-Forwarded-For',
    forwardedFor ? `${forwardedFor}, ${facts.peerAddress}` : facts.peerAddress,
    'X-Forwarded-Proto',
    forwardedProto ?? facts.scheme,
    'X-Request-Id',
    facts.requestId,
  );
  const forwardedHostValue = forwardedHost ?? host;
  if (forwardedHostValue !== undefined) out.push('X-Forwarded-Host', forwardedHostValue);
  if (identity) pushIdentity(out, identity, policy, facts.identityToken);
  return out;
}

function pushIdentity(out: string[], identity: Identity, policy: HeaderPolicy, token: string | undefined): void {
  const fields = identityFields(identity, policy);
  for (const [field, value] of Object.entries(fields)) out.push(IDENTITY_HEADERS[field as IdentityField], value);
  if (policy.claimHeaders) {
    for (const header of policy.claimHeaders) {
      const value = claimHeaderValue(identity, header);
      if (value !== undefined) out.push(header.name, value);
    }
  }
  if (token !== undefined && policy.identityTokenHeader !== undefined) out.push(policy.identityTokenHeader, token);
}

/**
 * An identityHeaders header's value, or undefined when the claim sends none (absent, an object,
 * or text that cannot be sent exactly: see claimHeaderText). The same for the app and for
 * forward-auth answers.
 */
export function claimHeaderValue(identity: Identity, header: ClaimHeader): string | undefined {
  const text = claimHeaderText(claimAt(identity.claims, header.claim));
  return text === undefined ? undefined : utf8Bytes(text);
}

type IdentityField = keyof typeof IDENTITY_HEADERS;

/**
 * The identity as header values, the same for the upstream (X-Forwarded-*) and for forward-auth
 * answers (X-Auth-Request-*): groups comma-separated without spaces and absent when there are
 * none; the access token only for login sessions when oidc.passAccessToken is set. Nothing is
 * dropped or rewritten here: identity.ts let into the identity only values that can be sent
 * exactly (no control characters, no surrounding whitespace, no commas in a group).
 */
export function identityFields(identity: Identity, policy: HeaderPolicy): Partial<Record<IdentityField, string>> {
  const fields: Partial<Record<IdentityField, string>> = { user: utf8Bytes(identity.user) };
  if (identity.email !== undefined) fields.email = utf8Bytes(identity.email);
  if (identity.groups.length > 0) fields.groups = utf8Bytes(identity.groups.join(','));
  if (identity.preferredUsername !== undefined) fields.preferredUsername = utf8Bytes(identity.preferredUsername);
  if (policy.passAccessToken && identity.accessToken !== undefined) fields.accessToken = identity.accessToken;
  return fields;
}

/** Lower-cased header names listed in Connection (beyond close/keep-alive/upgrade). */
function connectionTokens(rawHeaders: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() !== 'connection') continue;
    for (const token of (rawHeaders[i + 1] as string).split(',')) {
      const name = token.trim().toLowerCase();
      if (name === '') continue;
      tokens ??= new Set();
      tokens.add(name);
    }
  }
  return tokens;
}

/**
 * Non-ASCII text goes out as its UTF-8 bytes, as Go and nginx proxies send it (WSGI apps decode
 * it from latin-1): Node writes a header string one byte per character.
 */
export function utf8Bytes(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  return Buffer.from(value, 'utf8').toString('latin1');
}
