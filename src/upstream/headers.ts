// The headers the app receives. Built fresh from the client's raw headers in one pass:
// 1. hop-by-hop headers go, and every header the client names in Connection;
// 2. every client copy of an identity or forwarding header goes, whatever its case and
//    whether spelled with "_" or "-" (WSGI and CGI apps read both alike), and so does every
//    client-certificate header (X-Forwarded-Client-Cert, ...);
// 3. by default every other header with "_" in its name goes too (nginx's default);
// 4. the sidecar's own cookies (the session ticket, the login cookie) leave the Cookie header;
// then the sidecar's own forwarding and identity headers are added last, so no client header
// (not even one named in Connection) can remove or shadow them.
import type { Identity } from '../authn/identity.ts';
import { withoutCookies } from '../net/cookies.ts';

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1), plus Expect. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // Node answers "100 Continue" itself; the request to the app is a plain one.
  'expect',
]);

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

/** Always removed from the client's request, in either spelling. */
const MANAGED = new Set<string>([
  ...Object.values(IDENTITY_HEADERS).map((name) => name.toLowerCase()),
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-auth-request-access-token',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

/** Forwarding details that only a trusted proxy may assert; dropped from anyone else. */
const PROXY_ASSERTED = new Set([
  'forwarded',
  'x-real-ip',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-original-uri',
  'x-original-url',
]);

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
}

export interface HeaderPolicy {
  readonly dropUnderscoreHeaders: boolean;
  /** Keep a Basic Authorization header (basic.passAuthorization). */
  readonly passBasicAuthorization: boolean;
  /** Send the login session's access token (oidc.passAccessToken). */
  readonly passAccessToken: boolean;
  /** Whether a cookie is the sidecar's own: removed from the Cookie header (the app never needs it). */
  readonly dropCookie?: (name: string) => boolean;
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
      if (MANAGED.has(dashed) || PROXY_ASSERTED.has(dashed)) continue;
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
  if (identity) pushIdentity(out, identity, policy);
  return out;
}

function pushIdentity(out: string[], identity: Identity, policy: HeaderPolicy): void {
  const fields = identityFields(identity, policy);
  for (const [field, value] of Object.entries(fields)) out.push(IDENTITY_HEADERS[field as IdentityField], value);
}

type IdentityField = keyof typeof IDENTITY_HEADERS;

/**
 * The identity as header values, the same for the upstream (X-Forwarded-*) and for forward-auth
 * answers (X-Auth-Request-*): groups comma-separated without spaces and absent when there are
 * none; the access token only for login sessions when oidc.passAccessToken is set.
 */
export function identityFields(identity: Identity, policy: HeaderPolicy): Partial<Record<IdentityField, string>> {
  const fields: Partial<Record<IdentityField, string>> = { user: headerSafe(identity.user) };
  if (identity.email !== undefined) fields.email = headerSafe(identity.email);
  // A group with a comma cannot be one item of a comma-separated list: "x,admins" would read
  // as the group "admins" to the app, which the route rules never granted. It is left out.
  const groups = identity.groups.filter((g) => !g.includes(','));
  if (groups.length > 0) fields.groups = headerSafe(groups.join(','));
  if (identity.preferredUsername !== undefined) fields.preferredUsername = headerSafe(identity.preferredUsername);
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
 * Claim values are the provider's, not ours: control characters are dropped (no header
 * injection, no crash in Node's header validation) and non-ASCII text goes out as UTF-8
 * bytes, as Go and nginx proxies send it (WSGI apps decode it from latin-1).
 */
export function headerSafe(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it drops
  const clean = value.replace(/[\x00-\x1f\x7f]/g, '');
  return Buffer.from(clean, 'utf8').toString('latin1');
}
