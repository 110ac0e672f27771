// Header names with a meaning of their own to the sidecar: the ones it drops from the client's
// request (upstream/headers.ts), and, in RESERVED_HEADERS, every name a config may not give to a
// header of its own (identityHeaders, identityToken.header): set from a claim, any of them would
// give the app a second, conflicting copy, or change how the request or a forward-auth answer
// is read. Lower case.

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1), plus Expect. */
export const HOP_BY_HOP_HEADERS = [
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
  // The sidecar answers "100 Continue" itself (forward.ts); the request to the app is a plain one.
  'expect',
] as const;

/** Forwarding details that only a trusted proxy may assert; dropped from anyone else. */
export const PROXY_ASSERTED_HEADERS = [
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'front-end-https',
] as const;

export const RESERVED_HEADERS: ReadonlySet<string> = new Set<string>([
  ...HOP_BY_HOP_HEADERS,
  ...PROXY_ASSERTED_HEADERS,
  // identity headers for the app, and their forward-auth twins (upstream/headers.ts, endpoints/forward-auth.ts)
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-auth-request-access-token',
  'x-auth-request-login',
  'x-auth-login',
  // identity, method and path claims no client may make (upstream/headers.ts MANAGED)
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
  // forwarding facts the sidecar sets itself
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  // credentials, and the message itself
  'authorization',
  'cookie',
  'set-cookie',
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'www-authenticate',
  'location',
  'cache-control',
  'retry-after',
]);
