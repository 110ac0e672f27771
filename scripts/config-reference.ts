// The configuration reference of docs/configuration.md, generated from the zod schema (keys,
// types, defaults) plus one sentence per key below. `node scripts/config-reference.ts --write`
// rewrites that section; test/docs/docs.test.ts fails when the two drift apart.
import { readFileSync, writeFileSync } from 'node:fs';
import { configSchema, SECRET_KEYS } from '../src/config/schema.ts';
import { objectListElementOf, objectShapeOf, type Schema, typeName, unwrap } from '../src/config/schema-shape.ts';

const DESCRIPTIONS: Record<string, string> = {
  listen: 'Main listener, `host:port`: the pod port the Service targets.',
  'admin.listen': 'Admin listener for `/healthz`, `/readyz`, `/metrics`; never proxied.',
  'upstream.url': 'The app, as an origin without a path (`http://127.0.0.1:5000`).',
  'upstream.timeoutSeconds': 'No response headers (or a body that stalls) this long: 504.',
  'upstream.dropUnderscoreHeaders':
    'Drop every client header with `_` in its name (nginx’s default). Identity and forwarding headers in `_` spelling are dropped regardless.',
  publicUrl: 'External origin (no path) browsers use; required with `oidc`. Login redirects and `rd` checks use it.',
  pathPrefix: 'Prefix of the sidecar’s own endpoints (`/oauth2/start`, `/oauth2/auth`, ...); never proxied.',
  trustedProxies: 'IPs or CIDRs whose `X-Forwarded-*` (and forward-auth `X-Forwarded-Uri`/`-Method`) are believed.',
  shutdownTimeoutSeconds: 'On SIGTERM, how long in-flight requests may finish before connections are cut (exit 1).',
  logLevel: 'Log level of the JSON log lines on stdout.',
  jwt: 'Bearer JWT verification; an entry, or a list of entries (one per issuer).',
  'jwt.issuer': 'Required `iss`; also finds the JWKS through discovery when neither `jwksUri` nor `keysFile` is set.',
  'jwt.audience': 'Accepted `aud` values (any of them). Required: a token for another audience is refused.',
  'jwt.jwksUri':
    'JWKS URL. Keys are cached, refetched on an unknown `kid` at most once per cooldown, kept while the URL is down.',
  'jwt.keysFile': 'Local JWKS file (public keys only); reloaded when it changes.',
  'jwt.secret': 'Shared secret for HS256/384/512 (and `secretFile`). HMAC algorithms are refused without it.',
  'jwt.algorithms':
    'Allowlist of `alg` values. Default: RS256, ES256 with public keys; HS256 with a secret only. Never `none`.',
  'jwt.clockToleranceSeconds': 'Leeway for `exp` and `nbf`.',
  'jwt.jwksCooldownSeconds': 'Least time between two JWKS fetches, whatever asks for them.',
  'jwt.claims.user': 'Claim that names the user (`X-Forwarded-User`). Dotted names reach into objects.',
  'jwt.claims.email': 'Claim for `X-Forwarded-Email` (ignored when `email_verified` is false).',
  'jwt.claims.groups': 'Claim for groups: an array or a comma-separated string (`realm_access.roles` works).',
  'jwt.claims.preferredUsername': 'Claim for `X-Forwarded-Preferred-Username`.',
  oidc: 'OpenID Connect browser login (authorization code + PKCE); sessions in `session.store`. An entry, or a list of named entries (one per provider).',
  'oidc.name':
    'The provider’s name, `[a-z0-9-]{1,32}`: required and unique in a list. Used by `/oauth2/start?provider=`, `allow.providers` and `/oauth2/userinfo`.',
  'oidc.issuer': 'The provider’s issuer; its discovery document is read at start-up.',
  'oidc.clientId': 'Client id registered at the provider.',
  'oidc.clientSecret': 'Client secret (or `clientSecretFile`); absent for a public client.',
  'oidc.scopes': 'Scopes asked for at login.',
  'oidc.claims.user': 'ID token claim that names the user.',
  'oidc.claims.email': 'ID token claim for the email.',
  'oidc.claims.groups': 'ID token claim for groups.',
  'oidc.claims.preferredUsername': 'ID token claim for the preferred username.',
  'oidc.passAccessToken': 'Send the session’s access token to the app as `X-Forwarded-Access-Token`.',
  basic: 'HTTP basic credentials checked against an htpasswd file.',
  'basic.htpasswdFile': 'htpasswd file (bcrypt, apr1, {SHA} lines); reloaded when it changes.',
  'basic.realm': 'Realm named in every `WWW-Authenticate` challenge (Basic and Bearer).',
  'basic.passAuthorization': 'Keep the basic `Authorization` header for the app (removed by default).',
  'basic.groupsFile': 'Groups in Apache AuthGroupFile format (`group: user1 user2`); reloaded when it changes.',
  'basic.cache.ttlSeconds':
    'How long verified credentials are remembered (HMAC-keyed, emptied on file change); 0: off.',
  'basic.cache.maxEntries': 'Most verified credentials remembered at once.',
  'basic.lockout.maxFailures':
    'Failures per user name (case-folded) within the window before 429 + `Retry-After`; 0: off.',
  'basic.lockout.addressMaxFailures':
    'Failures per client address (IPv6: per /64) within the window before 429; 0: off.',
  'basic.lockout.windowSeconds': 'How long a failed basic attempt is counted.',
  'basic.lockout.backoffSeconds': 'How long a locked user name or address is answered 429.',
  tls: 'The main listener speaks HTTPS (TLS 1.2 and 1.3) with these files; the admin listener stays HTTP. See docs/tls.md.',
  'tls.certFile': 'PEM certificate chain, the server’s first; reloaded on change for new connections.',
  'tls.keyFile': 'PEM private key (unencrypted) of the first certificate; reloaded with it.',
  'tls.clientCaFile': 'PEM CA certificates: ask clients for a certificate, verify it, and offer the `mtls` method.',
  'tls.requireClientCert': 'Refuse the handshake of a client without a certificate that `clientCaFile` verifies.',
  mtls: 'How a verified client certificate becomes an identity (the `mtls` method; needs `tls.clientCaFile`).',
  'mtls.claims.user':
    'Certificate field that names the user: `subject.CN`, or the first `san.uri` (SPIFFE ID), `san.dns`, `san.email`.',
  'mtls.claims.email': 'Certificate field for the email (`X-Forwarded-Email`); absent when the certificate has none.',
  session: 'Where login sessions, login state and counters live.',
  'session.store': '`memory` (one replica) or `redis` (shared by every replica).',
  'session.redis': 'Redis connection: exactly one of `url`, `sentinels` + `name`, `cluster`.',
  'session.redis.url': '`redis://` or `rediss://` URL of a single server.',
  'session.redis.sentinels': 'Sentinel addresses (`host:port`, no TLS), with `name`.',
  'session.redis.name': 'Sentinel master name.',
  'session.redis.cluster': 'Cluster node addresses (`host:port`; `rediss://host:port` for TLS, on every node or none).',
  'session.redis.password': 'Redis password (or `passwordFile`).',
  'session.redis.sentinelPassword': 'Sentinel password (or `sentinelPasswordFile`).',
  'session.redis.keyPrefix': 'Prefix of every key the sidecar writes.',
  'session.cookie': 'The session cookie (a signed ticket; the session itself is sealed in the store).',
  'session.cookie.name': 'Cookie name.',
  'session.cookie.secret':
    'Signing secret(s), >= 32 bytes (or `secretFile`); a list rotates: the first signs, all verify.',
  'session.cookie.secure': 'Secure flag; default true when `publicUrl` is https or `tls` is set.',
  'session.cookie.sameSite': 'SameSite attribute.',
  'session.ttlSeconds': 'Session lifetime.',
  routes: 'Per-route rules, first match wins; a path no route matches needs any authenticated identity.',
  'routes[].path':
    'Glob on the normalized, decoded path: `*` within a segment, `**` any segments; `/x/**` matches `/x`; a trailing `/` never matters. See docs/routes.md.',
  'routes[].methods': 'Methods this route applies to; other methods try the next route.',
  'routes[].auth': '`none` (public) or the accepted methods: `jwt`, `basic`, `session`. Default: every configured one.',
  'routes[].allow': 'Who may pass: across keys all must hold, within a key any value.',
  'routes[].allow.users': 'User names (any).',
  'routes[].allow.emails': 'Email addresses (any, case-insensitive).',
  'routes[].allow.emailDomains':
    'Domains after the single `@` of a well-formed address (any), matched exactly: no wildcards (`*.corp.com` is a config error).',
  'routes[].allow.groups': 'Groups (any).',
  'routes[].allow.scopes': 'Scopes (all required); a bearer token without them gets 403 `insufficient_scope`.',
  'routes[].allow.providers':
    'Names of `oidc` providers (any): only login sessions from them. Bearer and basic identities never match.',
  'routes[].allow.claims':
    'Claim (dotted path) → accepted values: every listed claim must equal one of its values (an array claim: one of its elements); exact, type and case included. See docs/identity.md.',
  'routes[].allow.sourceCidrs':
    'IPs or CIDRs the client address (as `trustedProxies` resolve it) must be in; checked first, 403 without a challenge. The only `allow` key an `auth: none` route may have.',
  'routes[].preflight':
    '`allow` lets CORS preflights (OPTIONS with Origin and Access-Control-Request-Method, matched by the announced method) through without credentials; `deny` never does. Unset: `deny`, or `allow` with `skipAuthPreflight`.',
  caseInsensitiveRoutes: 'Match route globs without regard to case, for apps that serve `/ADMIN` as `/admin`.',
  identityToken:
    'A short-lived signed JWT on every forwarded request (and forward-auth 2xx) that tells the app who the caller is; public keys at `{pathPrefix}/jwks.json`. See docs/identity.md.',
  'identityToken.signingKeyFile':
    'PKCS#8 PEM private key (EC P-256/P-384, Ed25519, RSA >= 2048; the key decides `alg`), or a list: the first signs, all are published. Reloaded when it changes.',
  'identityToken.header': 'Request header that carries the token; client copies are removed first.',
  'identityToken.issuer': 'The `iss` claim. Default: `publicUrl`, else `auth-sidecar`.',
  'identityToken.audience': 'The `aud` claim (a string, or a list). Default: the origin of `upstream.url`.',
  'identityToken.ttlSeconds':
    'Token lifetime, at most 3600; `exp` is never later than the identity’s own expiry. A token is reused while half of it is left.',
  identityHeaders:
    'Header name → claim (dotted path), sent to the app and in forward-auth answers; client copies are removed first. Values: see docs/identity.md.',
  skipAuthPreflight:
    'CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) pass without credentials on every route without `preflight: deny`; `sourceCidrs` still applies.',
};

export interface KeyRow {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** Every key path of the schema with its type and default, in schema order. */
export function schemaKeys(): KeyRow[] {
  const rows: KeyRow[] = [];
  const visit = (schema: Schema, path: string, fallback: unknown): void => {
    const { def, defaultValue } = unwrap(schema);
    const value = defaultValue ?? fallback;
    const object = objectShapeOf(def);
    const description = DESCRIPTIONS[path];
    // A plain section (admin, upstream, claims) needs no row of its own unless it says something.
    if (path !== '' && (typeName(schema) !== 'object' || description)) {
      rows.push({
        key: path,
        type: typeName(schema),
        default: formatDefault(value, object !== undefined),
        description: description ?? '',
      });
    }
    if (object) {
      // An entry-or-list key (jwt) is documented by its entry's keys.
      for (const [key, child] of Object.entries(object)) {
        const inner = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
        visit(child, path === '' ? key : `${path}.${key}`, inner);
      }
      return;
    }
    const list = objectListElementOf(def);
    for (const [key, child] of Object.entries(list ? (objectShapeOf(unwrap(list).def) ?? {}) : {})) {
      visit(child, `${path}[].${key}`, undefined);
    }
  };
  visit(configSchema as unknown as Schema, '', undefined);
  return rows;
}

function formatDefault(value: unknown, isObject: boolean): string {
  if (value === undefined || isObject) return '';
  if (Array.isArray(value)) return value.length === 0 ? '`[]`' : `\`${JSON.stringify(value)}\``;
  return `\`${String(value)}\``;
}

export function referenceTable(): string {
  const secret = (key: string) => SECRET_KEYS.has(key.split('.').at(-1) as string);
  const lines = schemaKeys().map((row) => {
    const name = secret(row.key) ? `\`${row.key}\` (or \`${row.key}File\`)` : `\`${row.key}\``;
    return `| ${name} | ${row.type} | ${row.default} | ${row.description} |`;
  });
  return ['| key | type | default | meaning |', '| --- | --- | --- | --- |', ...lines].join('\n');
}

export const START = '<!-- config-reference:start (generated by scripts/config-reference.ts --write) -->';
export const END = '<!-- config-reference:end -->';

if (process.argv[2] === '--write') {
  const doc = new URL('../docs/configuration.md', import.meta.url);
  const text = readFileSync(doc, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end === -1) throw new Error('docs/configuration.md has no config-reference markers');
  writeFileSync(doc, `${text.slice(0, start + START.length)}\n${referenceTable()}\n${text.slice(end)}`);
}
