// The configuration schema: the single source of the config type, its defaults and its rules.
// Loading (file, environment, secret files) lives in load.ts; I/O checks live in the parts
// that read files, so this module stays pure.
import { isIP } from 'node:net';
import { z } from 'zod';
import { AUTH_METHODS, type AuthMethod } from '../auth-methods.ts';
import { parseCidr } from '../net/address.ts';
import { globProblem } from '../net/glob.ts';
import { RESERVED_HEADERS } from '../net/reserved-headers.ts';
import { blockedFetchPort } from './bad-ports.ts';

/** Key names whose value is a secret: each also accepts `<key>File`, and is never echoed. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['secret', 'clientSecret', 'password', 'sentinelPassword']);

export { AUTH_METHODS, type AuthMethod };

/** JWS algorithms we accept; `none` is deliberately absent. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

const positiveSeconds = z.number({ error: 'must be a number of seconds' }).positive('must be > 0');

const listenAddress = z
  .string({ error: 'must be "host:port"' })
  .refine((v) => parseListen(v) !== null, 'must be "host:port" with a port from 0 to 65535');

export interface ListenAddress {
  host: string;
  port: number;
}

/** "0.0.0.0:4180", "[::]:4180", ":4180" or "localhost:4180". */
export function parseListen(value: string): ListenAddress | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!match) return null;
  const port = Number(match[3]);
  if (port > 65535) return null;
  const host = match[1] ?? match[2] ?? '';
  if (match[1] !== undefined && isIP(host) !== 6) return null;
  return { host: host === '' ? '0.0.0.0' : host, port };
}

const httpUrl = (what: string) =>
  z.string({ error: `must be an ${what} URL` }).refine((v) => {
    try {
      const url = new URL(v);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, `must be an absolute http(s) ${what} URL`);

/** A URL the sidecar itself fetches (discovery, JWKS): fetch must not refuse its port. */
const fetchedUrl = (what: string) =>
  httpUrl(what).superRefine((value, ctx) => {
    const port = blockedFetchPort(value);
    if (port !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `port ${port} is one that fetch refuses to connect to (a "bad port" of the Fetch standard); use another port`,
      });
    }
  });

const origin = z.string({ error: 'must be a URL' }).refine((v) => {
  try {
    const url = new URL(v);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      (url.pathname === '/' || url.pathname === '') &&
      !url.search &&
      !url.hash &&
      !url.username &&
      !url.password &&
      !v.endsWith('/')
    );
  } catch {
    return false;
  }
}, 'must be an http(s) origin without a path, e.g. "https://app.example.com"');

const nonEmptyString = z.string({ error: 'must be a string' }).min(1, 'must not be empty');

const stringList = z.array(nonEmptyString, { error: 'must be a list of strings' });

/** A string or a list of strings, always a list once parsed. */
const oneOrMoreStrings = z
  .union([nonEmptyString, z.array(nonEmptyString).min(1, 'must not be empty')], {
    error: 'must be a string or a list of strings',
  })
  .transform((v) => (typeof v === 'string' ? [v] : v));

const claimName = nonEmptyString;

/** Which claims make the identity; dotted names reach into nested objects (realm_access.roles). */
const claimsSchema = z
  .strictObject({
    user: claimName.default('sub'),
    email: claimName.default('email'),
    groups: claimName.default('groups'),
    preferredUsername: claimName.default('preferred_username'),
  })
  .prefault({});

const cidr = z.string({ error: 'must be an IP address or CIDR' }).refine((v) => parseCidr(v) !== null, {
  message: 'must be an IP address or CIDR, e.g. "10.0.0.0/8"',
});

const jwtAlgorithm = z.enum([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS], {
  error: `must be one of ${[...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS].join(', ')} ("none" is never accepted)`,
});

const jwtEntry = z.strictObject(
  {
    issuer: fetchedUrl('issuer').optional(),
    audience: oneOrMoreStrings,
    jwksUri: fetchedUrl('JWKS').optional(),
    keysFile: nonEmptyString.optional(),
    secret: nonEmptyString.optional(),
    algorithms: z.array(jwtAlgorithm, { error: 'must be a list of algorithms' }).min(1, 'must not be empty').optional(),
    clockToleranceSeconds: z.number({ error: 'must be a number of seconds' }).min(0, 'must be >= 0').default(30),
    /** Least time between two JWKS fetches (an unknown kid asks for one). */
    jwksCooldownSeconds: z.number({ error: 'must be a number of seconds' }).min(0, 'must be >= 0').default(30),
    claims: claimsSchema,
  },
  { error: 'must be a mapping of jwt settings (audience, issuer, ...)' },
);
export type JwtEntryInput = z.input<typeof jwtEntry>;

/** A provider's name: in `?provider=`, `allow.providers` and /oauth2/userinfo. */
const providerName = z
  .string({ error: 'must be a provider name' })
  .regex(/^[a-z0-9-]{1,32}$/, 'must be 1 to 32 characters of a-z, 0-9 and "-"');

const oidcEntry = z.strictObject({
  /** Required when oidc is a list (checkOidcProviders); a single entry may go without. */
  name: providerName.optional(),
  issuer: fetchedUrl('issuer'),
  clientId: nonEmptyString,
  clientSecret: nonEmptyString.optional(),
  scopes: stringList.default(['openid', 'profile', 'email']),
  claims: claimsSchema,
  passAccessToken: z.boolean({ error: 'must be true or false' }).default(false),
});

const basicSchema = z.strictObject({
  htpasswdFile: nonEmptyString,
  realm: z
    .string()
    .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII')
    .refine((v) => !v.includes('"') && !v.includes('\\'), 'must not contain quotes or backslashes')
    .default('auth-sidecar'),
  passAuthorization: z.boolean({ error: 'must be true or false' }).default(false),
  /** Apache AuthGroupFile format: `group: user1 user2`. */
  groupsFile: nonEmptyString.optional(),
  cache: z
    .strictObject({
      /** How long a verified user name and password are remembered; 0 verifies every request. */
      ttlSeconds: z
        .number({ error: 'must be a number of seconds' })
        .min(0, 'must be >= 0')
        .max(3600, 'must be <= 3600')
        .default(300),
      maxEntries: z.int({ error: 'must be a whole number' }).positive('must be > 0').default(10_000),
    })
    .prefault({}),
  lockout: z
    .strictObject({
      /** Failed attempts per user name (case-folded) within windowSeconds; 0 turns it off. */
      maxFailures: z.int({ error: 'must be a whole number' }).min(0, 'must be >= 0').default(5),
      /** Failed attempts per client address within windowSeconds; 0 turns it off. */
      addressMaxFailures: z.int({ error: 'must be a whole number' }).min(0, 'must be >= 0').default(20),
      windowSeconds: positiveSeconds.default(300),
      /** How long a user name or address is refused (429) once past its limit. */
      backoffSeconds: positiveSeconds.default(300),
    })
    .prefault({}),
});

const cookieSecret = z.string({ error: 'must be a string' }).refine((v) => Buffer.byteLength(v) >= 32, {
  message: 'must be at least 32 bytes; make one with `openssl rand -base64 32`',
});

const sessionSchema = z
  .strictObject({
    store: z.enum(['memory', 'redis'], { error: 'must be "memory" or "redis"' }).default('memory'),
    redis: z
      .strictObject({
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
          .optional(),
        sentinels: z
          .array(
            nonEmptyString.refine(
              (entry) => !entry.startsWith('rediss://'),
              'TLS to Sentinel is not supported: give host:port, or use url with rediss:// or cluster',
            ),
          )
          .min(1)
          .optional(),
        name: nonEmptyString.optional(),
        cluster: z.array(nonEmptyString).min(1).optional(),
        password: nonEmptyString.optional(),
        sentinelPassword: nonEmptyString.optional(),
        keyPrefix: z.string().default('auth-sidecar:'),
      })
      .optional(),
    cookie: z
      .strictObject({
        name: z
          .string()
          .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid cookie name')
          .default('_auth_sidecar'),
        secret: z
          .union([cookieSecret, z.array(cookieSecret).min(1, 'must not be empty')], {
            error: 'must be a secret of at least 32 bytes, or a list of them',
          })
          .transform((v) => (typeof v === 'string' ? [v] : v))
          .optional(),
        secure: z.boolean({ error: 'must be true or false' }).optional(),
        sameSite: z.enum(['lax', 'strict', 'none'], { error: 'must be "lax", "strict" or "none"' }).default('lax'),
      })
      .prefault({}),
    ttlSeconds: positiveSeconds.default(28800),
  })
  .prefault({});

const authSetting = z.union(
  [
    z.literal('none'),
    z
      .array(z.enum(AUTH_METHODS, { error: `must be one of ${AUTH_METHODS.join(', ')}` }))
      .min(1, 'must not be empty; use "none" for a public route'),
  ],
  {
    // `auth: "jwt"` is the likeliest slip: say how to write it.
    error: (issue) =>
      typeof issue.input === 'string' && (AUTH_METHODS as readonly string[]).includes(issue.input)
        ? `must be "none" or a list of methods: use ["${issue.input}"]`
        : `must be "none" or a list of ${AUTH_METHODS.join(', ')}`,
  },
);

const httpMethod = z
  .string({ error: 'must be an HTTP method' })
  .regex(/^[A-Za-z]+$/, 'must be an HTTP method such as GET')
  .transform((v) => v.toUpperCase());

/** An allow list that names nobody would lock everyone out: refused as a likely mistake. */
const allowList = stringList.min(1, 'must not be empty (leave the key out instead)');

/**
 * Domains are matched exactly, so "*.corp.com" or ".corp.com" would silently match nobody: a
 * user writing them means subdomains, which must be listed one by one.
 */
const emailDomain = nonEmptyString
  .refine((d) => !d.includes('@'), 'must be a domain such as "example.com", without "@"')
  .refine(
    (d) => !/[*\s]|^\.|\.$/.test(d),
    'must be a domain such as "example.com", matched exactly: no "*", spaces, leading or trailing "." (list each subdomain)',
  );

/** A claim value a rule compares with: exact, of the same type as in the token. */
const claimValue = z.union([nonEmptyString, z.number(), z.boolean()], {
  error: 'must be a string, a number or true/false',
});

/** A mapping whose keys are names the user chose; an empty one is refused as a likely mistake. */
const namedMapping = <T extends z.ZodType>(value: T, what: string) =>
  z.record(z.string(), value, { error: `must be a mapping of ${what}` }).superRefine((mapping, ctx) => {
    if (Object.keys(mapping).length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must not be empty (leave the key out instead)' });
    }
    for (const name of Object.keys(mapping)) {
      if (name === '') ctx.addIssue({ code: 'custom', path: [name], message: 'must not be an empty name' });
    }
  });

/** The certificate fields `mtls.claims` can name (decision/facts: ClientCertificate). */
export const CERTIFICATE_FIELDS = ['subject.CN', 'san.email', 'san.uri', 'san.dns'] as const;
export type CertificateField = (typeof CERTIFICATE_FIELDS)[number];

const certificateField = z.enum(CERTIFICATE_FIELDS, { error: `must be one of ${CERTIFICATE_FIELDS.join(', ')}` });

/** The main listener speaks HTTPS; with clientCaFile it asks for client certificates (mTLS). */
const tlsSchema = z.strictObject({
  certFile: nonEmptyString,
  keyFile: nonEmptyString,
  clientCaFile: nonEmptyString.optional(),
  requireClientCert: z.boolean({ error: 'must be true or false' }).default(false),
});

/** How a verified client certificate becomes an identity (the "mtls" method). */
const mtlsSchema = z.strictObject({
  claims: z
    .strictObject({ user: certificateField.default('subject.CN'), email: certificateField.default('san.email') })
    .prefault({}),
});

const routeSchema = z.strictObject(
  {
    path: z.string({ error: 'must be a path glob' }).superRefine((glob, ctx) => {
      const problem = globProblem(glob);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    methods: z.array(httpMethod).min(1, 'must not be empty').optional(),
    auth: authSetting.optional(),
    allow: z
      .strictObject({
        users: allowList.optional(),
        emails: allowList.optional(),
        emailDomains: z.array(emailDomain).min(1, 'must not be empty (leave the key out instead)').optional(),
        groups: allowList.optional(),
        scopes: z
          .array(nonEmptyString.regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token (RFC 6749 §3.3)'))
          .min(1, 'must not be empty (leave the key out instead)')
          .optional(),
        providers: z.array(providerName).min(1, 'must not be empty (leave the key out instead)').optional(),
        claims: namedMapping(
          z.array(claimValue, { error: 'must be a list of values' }).min(1, 'must not be empty'),
          'claim names (dotted paths) to lists of values',
        ).optional(),
        sourceCidrs: z
          .array(cidr, { error: 'must be a list of IPs or CIDRs' })
          .min(1, 'must not be empty (leave the key out instead)')
          .optional(),
      })
      .optional(),
    // No default here: an unset preflight follows skipAuthPreflight (see route-table.ts).
    preflight: z.enum(['allow', 'deny'], { error: 'must be "allow" or "deny"' }).optional(),
  },
  { error: 'must be a route: a mapping with a path' },
);

/** Runs a refinement even when other parts of the value failed, so every problem shows at once. */
const always = { when: () => true };
/** tchar (RFC 9110 §5.6.2) without "_". */
const HEADER_NAME = /^[!#$%&'*+\-.^`|~0-9A-Za-z]+$/;

/** Why a name cannot be a header of the sidecar's own (identityHeaders, identityToken.header). */
export function ownHeaderProblem(name: string): string | undefined {
  if (name.includes('_')) {
    return 'must not contain "_": WSGI and CGI apps read it as "-", and proxies drop such headers';
  }
  if (!HEADER_NAME.test(name)) return 'must be a header name, such as "X-Forwarded-Department"';
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    return "is one of the sidecar's own headers, or one that frames the request: choose another name";
  }
  return undefined;
}

const ownHeaderName = z.string({ error: 'must be a header name' }).superRefine((name, ctx) => {
  const problem = ownHeaderProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const identityTokenSchema = z.strictObject(
  {
    signingKeyFile: z.union([nonEmptyString, z.array(nonEmptyString).min(1, 'must not be empty')], {
      error: 'must be the path of a PKCS#8 PEM private key, or a list of them (the first signs)',
    }),
    header: ownHeaderName.default('X-Auth-Sidecar-Identity'),
    issuer: nonEmptyString.optional(),
    audience: oneOrMoreStrings.optional(),
    ttlSeconds: z
      .int({ error: 'must be a whole number of seconds' })
      .min(1, 'must be >= 1')
      .max(3600, 'must be <= 3600')
      .default(60),
  },
  { error: 'must be a mapping with signingKeyFile' },
);

/** Header name → claim (a dotted path); names are checked here, collisions across keys below. */
const identityHeadersSchema = namedMapping(nonEmptyString, 'header names to claim names').superRefine(
  (headers, ctx) => {
    for (const name of Object.keys(headers)) {
      const problem = name === '' ? undefined : ownHeaderProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    }
  },
);

export const configSchema = z
  .strictObject({
    listen: listenAddress.default('0.0.0.0:4180'),
    admin: z.strictObject({ listen: listenAddress.default('0.0.0.0:4181') }).prefault({}),
    upstream: z.strictObject(
      {
        url: httpUrl('upstream').refine((v) => {
          // Runs even when httpUrl failed (zod does not abort a chain of refinements).
          if (!URL.canParse(v)) return true;
          const url = new URL(v);
          return (url.pathname === '/' || url.pathname === '') && !url.search;
        }, 'must be an origin such as "http://127.0.0.1:5000" (no path or query)'),
        timeoutSeconds: positiveSeconds.default(60),
        dropUnderscoreHeaders: z.boolean({ error: 'must be true or false' }).default(true),
      },
      { error: 'is required (upstream.url names the app)' },
    ),
    publicUrl: origin.optional(),
    pathPrefix: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must be a path such as "/oauth2" (no trailing slash)')
      // Requests are matched on their normalized path, which never has dot segments: a prefix
      // with one could never be reached, and its endpoints would be proxied to the app instead.
      .refine((p) => !/\/\.\.?(\/|$)/.test(p), 'must not contain "." or ".." segments')
      .default('/oauth2'),
    trustedProxies: z.array(cidr, { error: 'must be a list of IPs or CIDRs' }).default([]),
    shutdownTimeoutSeconds: z.number({ error: 'must be a number of seconds' }).min(0, 'must be >= 0').default(20),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    jwt: z
      .union([jwtEntry, z.array(jwtEntry).min(1, 'must not be empty')], {
        error: 'must be a mapping of jwt settings, or a list of them (one per issuer)',
      })
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional(),
    oidc: z
      .union([oidcEntry, z.array(oidcEntry).min(1, 'must not be empty').superRefine(checkOidcProviders, always)], {
        error: 'must be a mapping of oidc settings, or a list of them (one per provider, each with a name)',
      })
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional(),
    basic: basicSchema.optional(),
    tls: tlsSchema.optional(),
    mtls: mtlsSchema.optional(),
    session: sessionSchema,
    routes: z.array(routeSchema, { error: 'must be a list of routes' }).default([]),
    caseInsensitiveRoutes: z.boolean({ error: 'must be true or false' }).default(false),
    identityToken: identityTokenSchema.optional(),
    identityHeaders: identityHeadersSchema.optional(),
    skipAuthPreflight: z.boolean({ error: 'must be true or false' }).default(false),
  })
  .superRefine(checkAcrossKeys, always);

export type Config = z.output<typeof configSchema>;
export type JwtConfig = NonNullable<Config['jwt']>[number];
export type RouteConfig = Config['routes'][number];
export type ClaimsConfig = JwtConfig['claims'];
export type BasicConfig = NonNullable<Config['basic']>;
export type OidcConfig = NonNullable<Config['oidc']>[number];
export type IdentityTokenConfig = NonNullable<Config['identityToken']>;
export type TlsConfig = NonNullable<Config['tls']>;
export type MtlsConfig = NonNullable<Config['mtls']>;
/** What `mtls` means when it is left out and tls.clientCaFile is set: the schema's defaults. */
export const DEFAULT_MTLS: MtlsConfig = mtlsSchema.parse({});

type Ctx = z.RefinementCtx;
type Loose = Record<string, unknown>;

const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Rules that span keys. Runs even when other keys failed, so every problem is reported at once. */
function checkAcrossKeys(value: unknown, ctx: Ctx): void {
  if (!isObject(value)) return;
  const configured = configuredMethods(value);
  if (configured.size === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['jwt'],
      message: 'no authentication method is configured: set jwt, basic, oidc or tls.clientCaFile (mtls)',
    });
  }
  checkListeners(value, ctx);
  checkTls(value, ctx);
  if (value.oidc !== undefined) checkOidc(value, ctx);
  if (Array.isArray(value.jwt)) checkJwtEntries(value.jwt, ctx);
  else if (isObject(value.jwt)) checkJwtEntries([value.jwt], ctx);
  if (isObject(value.session)) checkSession(value.session, ctx);
  if (Array.isArray(value.routes)) checkRoutes(value.routes, configured, providerNames(value.oidc), ctx);
  if (isObject(value.identityHeaders)) checkIdentityHeaderNames(value, value.identityHeaders, ctx);
}

/** Header names are case-insensitive: two entries, or an entry and the token, must not meet. */
function checkIdentityHeaderNames(value: Loose, headers: Loose, ctx: Ctx): void {
  const token = isObject(value.identityToken) ? value.identityToken.header : undefined;
  const taken = new Map<string, string>();
  if (value.identityToken !== undefined) {
    taken.set((typeof token === 'string' ? token : 'X-Auth-Sidecar-Identity').toLowerCase(), 'identityToken.header');
  }
  for (const name of Object.keys(headers)) {
    const other = taken.get(name.toLowerCase());
    if (other !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['identityHeaders', name],
        message: `names the same header as ${other} (header names are case-insensitive)`,
      });
    }
    taken.set(name.toLowerCase(), `identityHeaders.${name}`);
  }
}

/** Both listeners on one port could never start; say so as a config problem (78), not EADDRINUSE. */
function checkListeners(value: Loose, ctx: Ctx): void {
  const main = parseListen(typeof value.listen === 'string' ? value.listen : '0.0.0.0:4180');
  const adminListen = isObject(value.admin) ? value.admin.listen : undefined;
  const admin = parseListen(typeof adminListen === 'string' ? adminListen : '0.0.0.0:4181');
  if (!main || !admin || main.port === 0 || main.port !== admin.port) return;
  const wildcard = (host: string) => host === '0.0.0.0' || host === '::';
  if (main.host === admin.host || wildcard(main.host) || wildcard(admin.host)) {
    ctx.addIssue({
      code: 'custom',
      path: ['admin', 'listen'],
      message: `must use another port than listen (${main.port})`,
    });
  }
}

function configuredMethods(value: Loose): Set<AuthMethod> {
  const methods = new Set<AuthMethod>();
  if (value.jwt !== undefined) methods.add('jwt');
  if (value.basic !== undefined) methods.add('basic');
  if (value.oidc !== undefined) methods.add('session');
  if (asksForClientCertificates(value)) methods.add('mtls');
  return methods;
}

/** A client CA makes the listener ask for certificates, and "mtls" an authentication method. */
function asksForClientCertificates(value: Loose): boolean {
  return isObject(value.tls) && value.tls.clientCaFile !== undefined;
}

/** Whether browsers reach the sidecar over HTTPS: then cookies default to Secure. */
export function servedOverHttps(value: { publicUrl?: unknown; tls?: unknown }): boolean {
  return (typeof value.publicUrl === 'string' && value.publicUrl.startsWith('https:')) || isObject(value.tls);
}

function checkTls(value: Loose, ctx: Ctx): void {
  const asks = asksForClientCertificates(value);
  if (value.mtls !== undefined && !asks) {
    ctx.addIssue({
      code: 'custom',
      path: ['mtls'],
      message: 'needs tls.clientCaFile: without a client CA no certificate is ever asked for',
    });
  }
  if (isObject(value.tls) && value.tls.requireClientCert === true && !asks) {
    ctx.addIssue({
      code: 'custom',
      path: ['tls', 'requireClientCert'],
      message: 'needs tls.clientCaFile to verify the certificates it requires',
    });
  }
}

function checkOidc(value: Loose, ctx: Ctx): void {
  if (value.publicUrl === undefined) {
    ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: 'is required when oidc is set' });
  }
  const cookie = isObject(value.session) && isObject(value.session.cookie) ? value.session.cookie : {};
  if (cookie.secret === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['session', 'cookie', 'secret'],
      message: 'is required when oidc is set (or secretFile)',
    });
  }
  // Browsers drop a SameSite=None cookie that is not Secure: every login would loop.
  const secure = cookie.secure ?? servedOverHttps(value);
  if (cookie.sameSite === 'none' && secure !== true) {
    ctx.addIssue({
      code: 'custom',
      path: ['session', 'cookie', 'sameSite'],
      message: '"none" needs a Secure cookie: an https publicUrl, or session.cookie.secure: true',
    });
  }
  // Browsers also drop a "__Secure-" or "__Host-" cookie that is not Secure (prefixes matched
  // without regard to case): the same login loop.
  const prefix = typeof cookie.name === 'string' ? /^__(secure|host)-/i.exec(cookie.name)?.[0] : undefined;
  if (prefix !== undefined && secure !== true) {
    ctx.addIssue({
      code: 'custom',
      path: ['session', 'cookie', 'name'],
      message: `a "${prefix}" cookie must be Secure: an https publicUrl, or session.cookie.secure: true`,
    });
  }
}

/**
 * In a list every provider has a name (the choice page, `?provider=` and `allow.providers`
 * use it) and its own issuer: a logout token and RFC 9207's `iss` name the provider by it.
 */
function checkOidcProviders(entries: unknown, ctx: Ctx): void {
  if (!Array.isArray(entries)) return; // `always` runs it on a value of any type
  const names = new Set<unknown>();
  const issuers = new Set<unknown>();
  entries.forEach((entry, index) => {
    if (!isObject(entry)) return;
    const path = [index]; // relative to oidc: this refines the list branch of the union
    if (entry.name === undefined) {
      ctx.addIssue({ code: 'custom', path: [...path, 'name'], message: 'is required when oidc is a list' });
    } else if (names.has(entry.name)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'name'], message: 'names another oidc entry too' });
    }
    names.add(entry.name);
    if (typeof entry.issuer === 'string' && issuers.has(issuerKey(entry.issuer))) {
      ctx.addIssue({ code: 'custom', path: [...path, 'issuer'], message: 'appears in more than one oidc entry' });
    }
    if (typeof entry.issuer === 'string') issuers.add(issuerKey(entry.issuer));
  });
}

/** An issuer as a URL compares (a trailing "/" on a bare origin does not make another one). */
function issuerKey(issuer: string): string {
  return URL.canParse(issuer) ? new URL(issuer).href : issuer;
}

/** The names the oidc entries give (a single entry may have one); empty without oidc. */
function providerNames(oidc: unknown): Set<unknown> {
  const entries = Array.isArray(oidc) ? oidc : [oidc];
  return new Set(
    entries
      .filter(isObject)
      .map((entry) => entry.name)
      .filter((name) => name !== undefined),
  );
}

function checkJwtEntries(entries: unknown[], ctx: Ctx): void {
  const issuers = new Set<unknown>();
  entries.forEach((entry, index) => {
    if (!isObject(entry)) return;
    // A single (non-list) entry is reported as jwt.0 here; load.ts shows it as jwt.
    const path = ['jwt', index];
    checkJwtEntry(entry, path, ctx);
    if (entries.length > 1) {
      if (entry.issuer === undefined) {
        ctx.addIssue({ code: 'custom', path: [...path, 'issuer'], message: 'is required when jwt is a list' });
      } else if (issuers.has(entry.issuer)) {
        ctx.addIssue({ code: 'custom', path: [...path, 'issuer'], message: 'appears in more than one jwt entry' });
      }
      issuers.add(entry.issuer);
    }
  });
}

function checkJwtEntry(entry: Loose, path: (string | number)[], ctx: Ctx): void {
  const sources = ['jwksUri', 'keysFile'].filter((k) => entry[k] !== undefined);
  if (sources.length > 1) {
    ctx.addIssue({ code: 'custom', path: [...path, 'keysFile'], message: 'set either jwksUri or keysFile, not both' });
  }
  if (sources.length === 0 && entry.issuer === undefined && entry.secret === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'jwksUri'],
      message: 'no key source: set jwksUri, keysFile, secret, or issuer (for discovery)',
    });
  }
  if (!Array.isArray(entry.algorithms)) return;
  const hmac = entry.algorithms.filter((a) => (HMAC_ALGORITHMS as readonly unknown[]).includes(a));
  if (hmac.length > 0 && entry.secret === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'algorithms'],
      message: `${hmac.join(', ')} needs a shared secret (jwt.secret or secretFile)`,
    });
  }
  const asymmetric = entry.algorithms.filter((a) => (ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(a));
  if (asymmetric.length > 0 && sources.length === 0 && entry.issuer === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'algorithms'],
      message: `${asymmetric.join(', ')} needs public keys (jwksUri, keysFile or issuer)`,
    });
  }
}

function checkSession(session: Loose, ctx: Ctx): void {
  if (session.store !== 'redis') return;
  const redis = isObject(session.redis) ? session.redis : {};
  const modes = ['url', 'sentinels', 'cluster'].filter((k) => redis[k] !== undefined);
  if (modes.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['session', 'redis'],
      message: 'set exactly one of url, sentinels (with name) or cluster when session.store is redis',
    });
  }
  if (redis.sentinels !== undefined && redis.name === undefined) {
    ctx.addIssue({ code: 'custom', path: ['session', 'redis', 'name'], message: 'is required with sentinels' });
  }
  // One connection kind for the whole cluster: a node written without rediss:// among TLS ones
  // is a typo that would otherwise send sessions in clear to some of the nodes.
  const nodes = Array.isArray(redis.cluster) ? redis.cluster.filter((n) => typeof n === 'string') : [];
  if (nodes.some(isTlsNode) && !nodes.every(isTlsNode)) {
    ctx.addIssue({
      code: 'custom',
      path: ['session', 'redis', 'cluster'],
      message: 'write every node with rediss:// (TLS) or none of them',
    });
  }
}

/** A Redis address that asks for TLS. */
export function isTlsNode(address: string): boolean {
  return address.startsWith('rediss://');
}

/** The key that switches each method on, as a config error names it. */
const SWITCHED_ON_BY: Record<AuthMethod, string> = {
  jwt: 'jwt',
  basic: 'basic',
  session: 'oidc',
  mtls: 'tls.clientCaFile',
};

function checkRoutes(routes: unknown[], configured: Set<AuthMethod>, providers: Set<unknown>, ctx: Ctx): void {
  routes.forEach((route, index) => {
    if (!isObject(route)) return;
    // A lone method (`auth: "jwt"`, refused above for its shape) is checked as the list it means.
    const methods = typeof route.auth === 'string' && route.auth !== 'none' ? [route.auth] : route.auth;
    if (Array.isArray(methods)) {
      for (const method of methods) {
        if ((AUTH_METHODS as readonly unknown[]).includes(method) && !configured.has(method as AuthMethod)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', index, 'auth'],
            message: `${String(method)} is not configured (set ${SWITCHED_ON_BY[method as AuthMethod]})`,
          });
        }
      }
    }
    // A public route has no identity, but it has a client address.
    if (route.auth === 'none' && isObject(route.allow)) {
      for (const key of Object.keys(route.allow).filter((k) => k !== 'sourceCidrs')) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'allow', key],
          message: 'cannot be used with auth "none": a public route has no identity to check (only sourceCidrs)',
        });
      }
    }
    if (isObject(route.allow) && Array.isArray(route.allow.providers)) {
      checkAllowedProviders(route, route.allow.providers, ['routes', index, 'allow', 'providers'], providers, ctx);
    }
  });
}

/**
 * `allow.providers` names configured providers, on a route that accepts login sessions: only
 * a session has a provider, so anything else would let nobody in.
 */
function checkAllowedProviders(
  route: Loose,
  names: unknown[],
  path: (string | number)[],
  providers: Set<unknown>,
  ctx: Ctx,
): void {
  if (Array.isArray(route.auth) && !route.auth.includes('session')) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: 'needs a route that accepts session: only login sessions come from a provider',
    });
  }
  names.forEach((name, at) => {
    if (typeof name === 'string' && !providers.has(name)) {
      const known = providers.size > 0 ? `one of ${[...providers].join(', ')}` : 'a named oidc entry';
      ctx.addIssue({ code: 'custom', path: [...path, at], message: `"${name}" is no oidc provider: must be ${known}` });
    }
  });
}
