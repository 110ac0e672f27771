import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../errors.ts';
import { parseEnvValue, readEnvOverrides } from './env.ts';
import { loadConfig } from './load.ts';

const SECRET = 'a-cookie-secret-of-at-least-32-bytes!';
const CORP = { name: 'corp', issuer: 'https://login.corp.example', clientId: 'legacy-app' };
const PARTNERS = { name: 'partners', issuer: 'https://idp.partner.example', clientId: 'legacy-app' };
const MINIMAL = { upstream: { url: 'http://127.0.0.1:5000' }, jwt: { audience: 'api', jwksUri: 'https://idp/jwks' } };

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'auth-sidecar-config-'));
}

function write(config: unknown, folder = dir()): string {
  const file = join(folder, 'config.yaml');
  writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  return file;
}

/** The `config: ...` lines a config is refused with (fails the test if it is accepted). */
function problems(config: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig({ file: write(config), env });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.lines];
    throw error;
  }
  throw new Error('the config was accepted');
}

describe('defaults', () => {
  it('fills every default of the contract', () => {
    const { config } = loadConfig({ file: write(MINIMAL), env: {} });
    expect(config.listen).toBe('0.0.0.0:4180');
    expect(config.admin.listen).toBe('0.0.0.0:4181');
    expect(config.upstream.timeoutSeconds).toBe(60);
    expect(config.pathPrefix).toBe('/oauth2');
    expect(config.shutdownTimeoutSeconds).toBe(20);
    expect(config.trustedProxies).toEqual([]);
    expect(config.session.store).toBe('memory');
    expect(config.session.cookie.name).toBe('_auth_sidecar');
    expect(config.session.ttlSeconds).toBe(28800);
    expect(config.jwt?.[0]?.clockToleranceSeconds).toBe(30);
    expect(config.jwt?.[0]?.claims).toEqual({
      user: 'sub',
      email: 'email',
      groups: 'groups',
      preferredUsername: 'preferred_username',
    });
    expect(config.routes).toEqual([]);
  });

  it('is frozen', () => {
    const { config } = loadConfig({ file: write(MINIMAL), env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.upstream)).toBe(true);
  });

  it('accepts jwt as a list, one entry per issuer', () => {
    const { config } = loadConfig({
      file: write({
        upstream: MINIMAL.upstream,
        jwt: [
          { issuer: 'https://a.example', audience: 'api', jwksUri: 'https://a.example/jwks' },
          { issuer: 'https://b.example', audience: ['api', 'web'], jwksUri: 'https://b.example/jwks' },
        ],
      }),
      env: {},
    });
    expect(config.jwt?.map((j) => j.issuer)).toEqual(['https://a.example', 'https://b.example']);
    expect(config.jwt?.[1]?.audience).toEqual(['api', 'web']);
  });
});

describe('problems are reported all at once, one line each, naming the key', () => {
  it('lists every problem of a config with several', () => {
    const lines = problems({
      upstream: { url: 'ftp://x', timeoutSeconds: -1, bogus: 1 },
      listen: 'nonsense',
      jwt: { audience: 'api', jwksUri: 'https://idp/jwks', algorithms: ['none'] },
      routes: [{ path: '/a' }, { path: '/b', auth: ['ldap'] }, { path: 'c', methods: [] }],
      extra: true,
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^config: upstream\.url: must be an absolute http\(s\) upstream URL/),
        'config: upstream.timeoutSeconds: must be > 0',
        'config: upstream.bogus: unknown key',
        expect.stringMatching(/^config: listen: must be "host:port"/),
        expect.stringMatching(/^config: jwt\.algorithms\.0: must be one of .*"none" is never accepted/),
        'config: routes.1.auth.0: must be one of jwt, basic, session, mtls',
        'config: routes.2.path: must start with "/"',
        'config: routes.2.methods: must not be empty',
        'config: extra: unknown key',
      ]),
    );
    expect(lines.every((line) => /^config: [\w.]+: .+/.test(line))).toBe(true);
  });

  it('says a missing required key "is required"', () => {
    expect(problems({ jwt: MINIMAL.jwt })).toContain('config: upstream: is required');
    expect(problems({ upstream: {}, jwt: MINIMAL.jwt })).toContain('config: upstream.url: is required');
    expect(problems({ upstream: MINIMAL.upstream, jwt: { jwksUri: 'https://idp/jwks' } })).toContain(
      'config: jwt.audience: is required',
    );
  });

  it('refuses the admin listener on the main listener’s port', () => {
    expect(problems({ ...MINIMAL, listen: ':8080', admin: { listen: '127.0.0.1:8080' } })).toEqual([
      'config: admin.listen: must use another port than listen (8080)',
    ]);
    expect(problems({ ...MINIMAL, admin: { listen: '0.0.0.0:4180' } })).toEqual([
      'config: admin.listen: must use another port than listen (4180)',
    ]);
    for (const [listen, admin] of [
      ['127.0.0.1:0', '127.0.0.1:0'],
      ['127.0.0.1:8080', '127.0.0.2:8080'],
    ]) {
      expect(loadConfig({ file: write({ ...MINIMAL, listen, admin: { listen: admin } }), env: {} }).config.listen).toBe(
        listen,
      );
    }
  });

  it('says in words what a key of the wrong type must be', () => {
    const lines = problems({
      ...MINIMAL,
      admin: 5,
      session: { redis: { sentinels: [] } },
      routes: ['x', { path: '/a', methods: 'GET' }],
      basic: { htpasswdFile: 'x', realm: 5, cache: { maxEntries: 1.5 } },
      shutdownTimeoutSeconds: -1,
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        'config: admin: must be a mapping',
        'config: session.redis.sentinels: must not be empty',
        'config: routes.0: must be a route: a mapping with a path',
        'config: routes.1.methods: must be a list',
        'config: basic.realm: must be a string',
        'config: basic.cache.maxEntries: must be a whole number',
        'config: shutdownTimeoutSeconds: must be >= 0',
      ]),
    );
    expect(problems({ upstream: MINIMAL.upstream, jwt: 5 })).toContain(
      'config: jwt: must be a mapping of jwt settings, or a list of them (one per issuer)',
    );
    expect(lines.join('\n')).not.toMatch(/Invalid input|Too small/);
  });

  it('names list indices of a jwt list, and not of a single jwt entry', () => {
    expect(problems({ upstream: MINIMAL.upstream, jwt: { audience: 3, jwksUri: 'https://i/j' } })).toContain(
      'config: jwt.audience: must be a string or a list of strings',
    );
    const lines = problems({
      upstream: MINIMAL.upstream,
      jwt: [
        { issuer: 'https://a', audience: 'x', jwksUri: 'https://a/j' },
        { audience: 'x', jwksUri: 'https://b/j' },
      ],
    });
    expect(lines).toContain('config: jwt.1.issuer: is required when jwt is a list');
  });

  it('refuses a config without any authentication method', () => {
    expect(problems({ upstream: MINIMAL.upstream })).toEqual([
      'config: jwt: no authentication method is configured: set jwt, basic, oidc or tls.clientCaFile (mtls)',
    ]);
  });

  it('refuses HMAC algorithms without a shared secret, and asymmetric ones without keys', () => {
    expect(
      problems({ upstream: MINIMAL.upstream, jwt: { audience: 'a', jwksUri: 'https://i/j', algorithms: ['HS256'] } }),
    ).toContain('config: jwt.algorithms: HS256 needs a shared secret (jwt.secret or secretFile)');
    expect(
      problems({ upstream: MINIMAL.upstream, jwt: { audience: 'a', secret: 'shh', algorithms: ['RS256'] } }),
    ).toContain('config: jwt.algorithms: RS256 needs public keys (jwksUri, keysFile or issuer)');
  });

  it('refuses both jwksUri and keysFile, and no key source at all', () => {
    expect(
      problems({ upstream: MINIMAL.upstream, jwt: { audience: 'a', jwksUri: 'https://i/j', keysFile: '/k' } }),
    ).toContain('config: jwt.keysFile: set either jwksUri or keysFile, not both');
    expect(problems({ upstream: MINIMAL.upstream, jwt: { audience: 'a' } })).toContain(
      'config: jwt.jwksUri: no key source: set jwksUri, keysFile, secret, or issuer (for discovery)',
    );
  });

  it('requires publicUrl and a cookie secret when oidc is set', () => {
    const lines = problems({
      upstream: MINIMAL.upstream,
      oidc: { issuer: 'https://idp', clientId: 'app', clientSecret: 'x' },
    });
    expect(lines).toContain('config: publicUrl: is required when oidc is set');
    expect(lines).toContain('config: session.cookie.secret: is required when oidc is set (or secretFile)');
  });

  it('accepts oidc as one entry (a name optional) or a list of named providers', () => {
    const login = { publicUrl: 'https://app.example', session: { cookie: { secret: SECRET } } };
    const single = loadConfig({
      file: write({ ...MINIMAL, ...login, oidc: { issuer: 'https://idp', clientId: 'app' } }),
      env: {},
    }).config;
    expect(single.oidc).toEqual([expect.objectContaining({ issuer: 'https://idp', clientId: 'app' })]);
    expect(single.oidc?.[0]?.name).toBeUndefined();
    const list = loadConfig({
      file: write({
        ...MINIMAL,
        ...login,
        oidc: [CORP, { ...PARTNERS, passAccessToken: true }],
        routes: [{ path: '/staff/**', allow: { providers: ['corp'] } }],
      }),
      env: { AUTH_SIDECAR_OIDC__1__CLIENT_ID: '0042' },
    }).config;
    expect(list.oidc?.map((p) => [p.name, p.clientId, p.passAccessToken])).toEqual([
      ['corp', 'legacy-app', false],
      ['partners', '0042', true],
    ]);
    expect(list.routes[0]?.allow?.providers).toEqual(['corp']);
  });

  it('names the entry of a provider list that is wrong: names required, well-formed, unique; issuers unique', () => {
    const login = { publicUrl: 'https://app.example', session: { cookie: { secret: SECRET } } };
    const lines = problems({
      ...MINIMAL,
      ...login,
      oidc: [
        CORP,
        { ...PARTNERS, name: undefined },
        { ...PARTNERS, name: 'Corp Login', issuer: 'https://two.example' },
        { ...PARTNERS, name: 'corp', issuer: 'https://idp.partner.example/' },
        { ...PARTNERS, name: 'x'.repeat(33), issuer: 'https://four.example', clientId: 5 },
      ],
    });
    expect(lines).toEqual([
      'config: oidc.2.name: must be 1 to 32 characters of a-z, 0-9 and "-"',
      'config: oidc.4.name: must be 1 to 32 characters of a-z, 0-9 and "-"',
      'config: oidc.4.clientId: must be a string',
      'config: oidc.1.name: is required when oidc is a list',
      'config: oidc.3.name: names another oidc entry too',
      'config: oidc.3.issuer: appears in more than one oidc entry',
    ]);
    expect(problems({ ...MINIMAL, ...login, oidc: [] })).toContain('config: oidc: must not be empty');
    expect(problems({ ...MINIMAL, ...login, oidc: 'corp' })).toContain(
      'config: oidc: must be a mapping of oidc settings, or a list of them (one per provider, each with a name)',
    );
    expect(problems({ ...MINIMAL, ...login, oidc: [CORP, { ...PARTNERS, port: 1 }] })).toContain(
      'config: oidc.1.port: unknown key',
    );
  });

  it('checks allow.providers names a configured provider, on a route that accepts sessions', () => {
    const login = { publicUrl: 'https://app.example', session: { cookie: { secret: SECRET } } };
    const lines = problems({
      ...MINIMAL,
      ...login,
      oidc: [CORP, PARTNERS],
      routes: [
        { path: '/a/**', allow: { providers: ['corp', 'staff'] } },
        { path: '/b/**', auth: ['jwt'], allow: { providers: ['corp'] } },
        { path: '/c/**', allow: { providers: [] } },
        { path: '/d/**', auth: 'none', allow: { providers: ['corp'] } },
      ],
    });
    expect(lines).toEqual([
      'config: routes.2.allow.providers: must not be empty (leave the key out instead)',
      'config: routes.0.allow.providers.1: "staff" is no oidc provider: must be one of corp, partners',
      'config: routes.1.allow.providers: needs a route that accepts session: only login sessions come from a provider',
      'config: routes.3.allow.providers: cannot be used with auth "none": a public route has no identity to check (only sourceCidrs)',
    ]);
    expect(problems({ ...MINIMAL, routes: [{ path: '/a', allow: { providers: ['corp'] } }] })).toContain(
      'config: routes.0.allow.providers.0: "corp" is no oidc provider: must be a named oidc entry',
    );
  });

  it('checks cookie secrets are at least 32 bytes, alone or in a rotation list', () => {
    const base = { ...MINIMAL, publicUrl: 'https://app.example', oidc: { issuer: 'https://idp', clientId: 'a' } };
    expect(problems({ ...base, session: { cookie: { secret: 'short' } } })).toContain(
      'config: session.cookie.secret: must be at least 32 bytes; make one with `openssl rand -base64 32`',
    );
    expect(problems({ ...base, session: { cookie: { secret: [SECRET, 'short'] } } })).toContain(
      'config: session.cookie.secret.1: must be at least 32 bytes; make one with `openssl rand -base64 32`',
    );
    const { config } = loadConfig({
      file: write({ ...base, session: { cookie: { secret: [SECRET, `${SECRET}2`] } } }),
      env: {},
    });
    expect(config.session.cookie.secret).toEqual([SECRET, `${SECRET}2`]);
  });

  it('checks publicUrl is an origin, and trustedProxies are IPs or CIDRs', () => {
    const lines = problems({
      ...MINIMAL,
      publicUrl: 'https://app.example/path',
      trustedProxies: ['10.0.0.0/8', 'x', '10.0.0.1/33'],
    });
    expect(lines).toContain(
      'config: publicUrl: must be an http(s) origin without a path, e.g. "https://app.example.com"',
    );
    expect(lines).toContain('config: trustedProxies.1: must be an IP address or CIDR, e.g. "10.0.0.0/8"');
    expect(lines).toContain('config: trustedProxies.2: must be an IP address or CIDR, e.g. "10.0.0.0/8"');
  });

  it('refuses a pathPrefix with dot segments, which no normalized request path could reach', () => {
    for (const pathPrefix of ['/a/../oauth2', '/./oauth2', '/oauth2/.']) {
      expect(problems({ ...MINIMAL, pathPrefix })).toEqual([
        'config: pathPrefix: must not contain "." or ".." segments',
      ]);
    }
    const { config } = loadConfig({ file: write({ ...MINIMAL, pathPrefix: '/.auth/..x' }), env: {} });
    expect(config.pathPrefix).toBe('/.auth/..x');
  });

  it('checks routes name only configured methods, and on a public route no allow but sourceCidrs', () => {
    const lines = problems({
      ...MINIMAL,
      routes: [
        { path: '/x', auth: ['basic'] },
        { path: '/y', auth: 'none', allow: { users: ['a'], sourceCidrs: ['10.0.0.0/8'], claims: { a: ['b'] } } },
        { path: '/z', auth: 'none', allow: { sourceCidrs: ['10.0.0.0/8'] } },
      ],
    });
    const publicRoute = 'cannot be used with auth "none": a public route has no identity to check (only sourceCidrs)';
    expect(lines).toEqual([
      'config: routes.0.auth: basic is not configured (set basic)',
      `config: routes.1.allow.users: ${publicRoute}`,
      `config: routes.1.allow.claims: ${publicRoute}`,
    ]);
  });

  it('checks tls and mtls: mtls needs a client CA, and names only certificate fields', () => {
    const tls = { certFile: 'tls.crt', keyFile: 'tls.key' };
    expect(
      problems({
        ...MINIMAL,
        tls: { ...tls, requireClientCert: true },
        mtls: { claims: { user: 'sub' } },
        routes: [{ path: '/x', auth: ['mtls'] }],
      }),
    ).toEqual([
      'config: mtls.claims.user: must be one of subject.CN, san.email, san.uri, san.dns',
      'config: mtls: needs tls.clientCaFile: without a client CA no certificate is ever asked for',
      'config: tls.requireClientCert: needs tls.clientCaFile to verify the certificates it requires',
      'config: routes.0.auth: mtls is not configured (set tls.clientCaFile)',
    ]);
    expect(problems({ ...MINIMAL, tls: { certFile: 'tls.crt' } })).toEqual(['config: tls.keyFile: is required']);
  });

  it('takes client certificates alone as an authentication method, with default claims', () => {
    const folder = dir();
    const { config } = loadConfig({
      file: write(
        {
          upstream: MINIMAL.upstream,
          tls: { certFile: 'tls/tls.crt', keyFile: 'tls/tls.key', clientCaFile: 'tls/ca.crt' },
          routes: [{ path: '/x', auth: ['mtls'] }],
        },
        folder,
      ),
      env: {},
    });
    expect(config.tls).toEqual({
      certFile: join(folder, 'tls/tls.crt'),
      keyFile: join(folder, 'tls/tls.key'),
      clientCaFile: join(folder, 'tls/ca.crt'),
      requireClientCert: false,
    });
    expect(config.mtls).toBeUndefined();
  });

  it('takes tls as HTTPS for cookies: SameSite=None is then Secure by default', () => {
    const oidc = {
      ...MINIMAL,
      publicUrl: 'http://app.test',
      oidc: { issuer: 'https://idp.test', clientId: 'app' },
      session: { cookie: { secret: SECRET, sameSite: 'none' } },
    };
    expect(problems(oidc)).toEqual([
      'config: session.cookie.sameSite: "none" needs a Secure cookie: an https publicUrl, or session.cookie.secure: true',
    ]);
    expect(() =>
      loadConfig({ file: write({ ...oidc, tls: { certFile: 'tls.crt', keyFile: 'tls.key' } }), env: {} }),
    ).not.toThrow();
  });

  it('checks redis settings when session.store is redis', () => {
    expect(problems({ ...MINIMAL, session: { store: 'redis' } })).toContain(
      'config: session.redis: set exactly one of url, sentinels (with name) or cluster when session.store is redis',
    );
    expect(problems({ ...MINIMAL, session: { store: 'redis', redis: { sentinels: ['h:26379'] } } })).toContain(
      'config: session.redis.name: is required with sentinels',
    );
    const cluster = ['rediss://a:6379', 'b:6379'];
    expect(problems({ ...MINIMAL, session: { store: 'redis', redis: { cluster } } })).toContain(
      'config: session.redis.cluster: write every node with rediss:// (TLS) or none of them',
    );
    const sentinels = ['rediss://h:26379'];
    expect(problems({ ...MINIMAL, session: { store: 'redis', redis: { sentinels, name: 'm' } } })).toContain(
      'config: session.redis.sentinels.0: TLS to Sentinel is not supported: give host:port, or use url with rediss:// or cluster',
    );
  });

  it('reports an unreadable file, invalid YAML and duplicate keys', () => {
    expect(() => loadConfig({ file: '/nonexistent/config.yaml', env: {} })).toThrow(
      'config: file: cannot read "/nonexistent/config.yaml": no such file',
    );
    expect(problems('upstream: [unclosed\n')).toEqual([
      expect.stringMatching(/^config: file: invalid YAML at line \d+/),
    ]);
    expect(problems('listen: a\nlisten: b\n')).toEqual([
      expect.stringMatching(/^config: file: invalid YAML at line 2: DUPLICATE_KEY/),
    ]);
    expect(problems('- a\n- b\n')).toEqual(['config: file: must be a YAML mapping of keys']);
    expect(problems('listen: *nowhere\n')).toEqual([
      'config: file: invalid YAML: an alias names an anchor that is not defined before it',
    ]);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f'].entries()) {
      bomb.push(`${name}: &${name} [${Array(10).fill(`*${bomb[i]?.[0]}`).join(', ')}]`);
    }
    expect(problems(`${bomb.join('\n')}\n`)).toEqual(['config: file: invalid YAML: too many aliases']);
  });

  it('never echoes a secret value, whatever is wrong with it', () => {
    const secret = 'hunter2-super-secret-value-do-not-print';
    const lines = problems({
      ...MINIMAL,
      publicUrl: 'https://app.example',
      oidc: { issuer: 'https://idp', clientId: 'a', clientSecret: 42, bogus: secret },
      session: { cookie: { secret: `short${secret.slice(0, 3)}` }, redis: { password: ['x', secret] } },
      jwt: { audience: 'a', secret: { nested: secret } },
    });
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      expect(line).not.toContain(secret);
      expect(line).not.toContain('shorthun');
    }
  });
});

describe('environment overrides', () => {
  it('sets and overrides any key, __ between levels, camelCase as upper snake case', () => {
    const { config } = loadConfig({
      file: write(MINIMAL),
      env: {
        AUTH_SIDECAR_UPSTREAM__URL: 'http://127.0.0.1:8080',
        AUTH_SIDECAR_UPSTREAM__TIMEOUT_SECONDS: '5',
        AUTH_SIDECAR_TRUSTED_PROXIES: '[10.0.0.0/8, 192.168.0.1]',
        AUTH_SIDECAR_JWT__AUDIENCE: '[a, b]',
        AUTH_SIDECAR_SESSION__REDIS__KEY_PREFIX: 'x:',
        AUTH_SIDECAR_SESSION__STORE: 'redis',
        AUTH_SIDECAR_SESSION__REDIS__URL: 'redis://127.0.0.1:6379/0',
        AUTH_SIDECAR_ROUTES__0__PATH: '/public/**',
        AUTH_SIDECAR_ROUTES__0__AUTH: 'none',
        AUTH_SIDECAR_UPSTREAM__DROP_UNDERSCORE_HEADERS: 'false',
      },
    });
    expect(config.upstream).toEqual({ url: 'http://127.0.0.1:8080', timeoutSeconds: 5, dropUnderscoreHeaders: false });
    expect(config.trustedProxies).toEqual(['10.0.0.0/8', '192.168.0.1']);
    expect(config.jwt?.[0]?.audience).toEqual(['a', 'b']);
    expect(config.session.redis).toMatchObject({ url: 'redis://127.0.0.1:6379/0', keyPrefix: 'x:' });
    expect(config.routes[0]).toMatchObject({ path: '/public/**', auth: 'none' });
  });

  it('builds a whole config from the environment alone', () => {
    const { config } = loadConfig({
      env: {
        AUTH_SIDECAR_UPSTREAM__URL: 'http://127.0.0.1:5000',
        AUTH_SIDECAR_JWT__AUDIENCE: 'api',
        AUTH_SIDECAR_JWT__JWKS_URI: 'https://idp.example/jwks',
      },
    });
    expect(config.jwt?.[0]?.jwksUri).toBe('https://idp.example/jwks');
  });

  it('names the variable when its key is unknown or its value wrong', () => {
    const lines = problems(MINIMAL, { AUTH_SIDECAR_UPSTREAM__TIMEOUT: '5', AUTH_SIDECAR_LISTEN: '99999' });
    expect(lines).toContain('config: upstream.timeout: unknown key (from AUTH_SIDECAR_UPSTREAM__TIMEOUT)');
    expect(lines).toContain(
      'config: listen: must be "host:port" with a port from 0 to 65535 (from AUTH_SIDECAR_LISTEN)',
    );
  });

  it('keeps the text of a variable whose key wants a string, even if it looks like a number', () => {
    const { config } = loadConfig({
      file: write({ ...MINIMAL, publicUrl: 'https://a.example', session: { cookie: { secret: SECRET } } }),
      env: {
        AUTH_SIDECAR_OIDC__ISSUER: 'https://idp.example',
        AUTH_SIDECAR_OIDC__CLIENT_ID: '12345',
        AUTH_SIDECAR_OIDC__CLIENT_SECRET: '007',
        AUTH_SIDECAR_JWT__AUDIENCE: '[123, api]',
        AUTH_SIDECAR_ROUTES__0__PATH: '/x',
        AUTH_SIDECAR_ROUTES__0__ALLOW__USERS: '[1001, true]',
      },
    });
    expect(config.oidc?.[0]).toMatchObject({ clientId: '12345', clientSecret: '007' });
    expect(config.jwt?.[0]?.audience).toEqual(['123', 'api']);
    expect(config.routes[0]?.allow?.users).toEqual(['1001', 'true']);
  });

  it('ignores Kubernetes service links for Services named auth-sidecar or auth-sidecar-*', () => {
    const { config } = loadConfig({
      file: write(MINIMAL),
      env: {
        AUTH_SIDECAR_PORT: 'tcp://10.0.0.1:4180',
        AUTH_SIDECAR_PORT_4180_TCP: 'tcp://10.0.0.1:4180',
        AUTH_SIDECAR_PORT_4180_TCP_ADDR: '10.0.0.1',
        AUTH_SIDECAR_SERVICE_HOST: '10.0.0.1',
        AUTH_SIDECAR_SERVICE_PORT: '4180',
        AUTH_SIDECAR_SERVICE_PORT_HTTP: '4180',
        // a Service named auth-sidecar-redis, or any other name that starts with auth-sidecar
        AUTH_SIDECAR_REDIS_PORT: 'tcp://10.0.0.2:6379',
        AUTH_SIDECAR_REDIS_PORT_6379_TCP_PROTO: 'tcp',
        AUTH_SIDECAR_REDIS_SERVICE_HOST: '10.0.0.2',
        AUTH_SIDECAR_REDIS_SERVICE_PORT_REDIS: '6379',
        AUTH_SIDECAR_ADMIN_API_SERVICE_PORT: '4181',
      },
    });
    expect(config.upstream.url).toBe('http://127.0.0.1:5000');
    // A real key path is still read, even one whose last word is PORT.
    expect(problems(MINIMAL, { AUTH_SIDECAR_UPSTREAM__PORT: '1' })).toContain(
      'config: upstream.port: unknown key (from AUTH_SIDECAR_UPSTREAM__PORT)',
    );
  });

  it('reads values as YAML scalars or flow sequences, keeping secrets literal', () => {
    expect(parseEnvValue('60')).toBe(60);
    expect(parseEnvValue('true')).toBe(true);
    expect(parseEnvValue('[a, b]')).toEqual(['a', 'b']);
    expect(parseEnvValue('"123"')).toBe('123');
    expect(parseEnvValue('abc #not-a-comment')).toBe('abc #not-a-comment');
    expect(parseEnvValue('key: value')).toBe('key: value');
    expect(parseEnvValue('{a: 1}')).toBe('{a: 1}');
    expect(parseEnvValue('- abc')).toBe('- abc');
    expect(parseEnvValue('%S3cret')).toBe('%S3cret');
    expect(parseEnvValue('')).toBeUndefined();
    expect(parseEnvValue('null')).toBeUndefined();
  });

  it('never quotes a value in a YAML warning on stderr (a secret may start with %)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      expect(parseEnvValue('%S3cret-value')).toBe('%S3cret-value');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.message)).toEqual([]);
  });

  it('unsets a key with an empty value', () => {
    const { config } = loadConfig({
      file: write({ ...MINIMAL, pathPrefix: '/auth' }),
      env: { AUTH_SIDECAR_PATH_PREFIX: '' },
    });
    expect(config.pathPrefix).toBe('/oauth2');
  });

  it('orders overrides deterministically and skips AUTH_SIDECAR_CONFIG', () => {
    const overrides = readEnvOverrides({ AUTH_SIDECAR_CONFIG: '/x', AUTH_SIDECAR_B: '1', AUTH_SIDECAR_A__C_D: '2' });
    expect(overrides.map((o) => o.path)).toEqual([['a', 'cD'], ['b']]);
  });
});

describe('secret files (xFile)', () => {
  it('reads the file with one trailing newline removed', () => {
    const folder = dir();
    writeFileSync(join(folder, 'client-secret'), 's3cret\n\n');
    writeFileSync(join(folder, 'cookie'), `${SECRET}\n`);
    const { config, files } = loadConfig({
      file: write(
        {
          ...MINIMAL,
          publicUrl: 'https://app.example',
          oidc: { issuer: 'https://idp', clientId: 'a', clientSecretFile: 'client-secret' },
          session: { cookie: { secretFile: join(folder, 'cookie') } },
        },
        folder,
      ),
      env: {},
    });
    expect(config.oidc?.[0]?.clientSecret).toBe('s3cret\n');
    expect(config.session.cookie.secret).toEqual([SECRET]);
    expect(files).toEqual(expect.arrayContaining([join(folder, 'client-secret'), join(folder, 'cookie')]));
  });

  it('accepts a list of secret files for rotation', () => {
    const folder = dir();
    writeFileSync(join(folder, 'new'), `${SECRET}-new`);
    writeFileSync(join(folder, 'old'), `${SECRET}-old`);
    const { config } = loadConfig({
      file: write(
        {
          ...MINIMAL,
          publicUrl: 'https://a.example',
          oidc: { issuer: 'https://idp', clientId: 'a' },
          session: { cookie: { secretFile: ['new', 'old'] } },
        },
        folder,
      ),
      env: {},
    });
    expect(config.session.cookie.secret).toEqual([`${SECRET}-new`, `${SECRET}-old`]);
  });

  it('can be set from the environment too', () => {
    const folder = dir();
    writeFileSync(join(folder, 'hmac'), 'shared-hmac-secret\n');
    const { config } = loadConfig({
      env: {
        AUTH_SIDECAR_UPSTREAM__URL: 'http://127.0.0.1:5000',
        AUTH_SIDECAR_JWT__AUDIENCE: 'api',
        AUTH_SIDECAR_JWT__SECRET_FILE: join(folder, 'hmac'),
      },
    });
    expect(config.jwt?.[0]?.secret).toBe('shared-hmac-secret');
  });

  it('refuses both x and xFile, and names an unreadable file', () => {
    const lines = problems({
      ...MINIMAL,
      publicUrl: 'https://a.example',
      oidc: { issuer: 'https://idp', clientId: 'a', clientSecret: 'x', clientSecretFile: '/etc/x' },
      session: { cookie: { secretFile: '/nonexistent/secret' } },
    });
    expect(lines).toContain('config: oidc.clientSecret: set either clientSecret or clientSecretFile, not both');
    expect(lines).toContain('config: session.cookie.secretFile: cannot read "/nonexistent/secret": no such file');
  });

  it('says which file an invalid secret came from, without its content', () => {
    const folder = dir();
    writeFileSync(join(folder, 'cookie'), 'too-short-secret\n');
    const lines = problems({
      ...MINIMAL,
      publicUrl: 'https://a.example',
      oidc: { issuer: 'https://idp', clientId: 'a' },
      session: { cookie: { secretFile: join(folder, 'cookie') } },
    });
    expect(lines).toContain(
      'config: session.cookie.secret: must be at least 32 bytes; make one with `openssl rand -base64 32` (from secretFile)',
    );
    expect(lines.join('\n')).not.toContain('too-short-secret');
  });

  it('resolves relative file paths against the config file folder, and lists them to watch', () => {
    const folder = dir();
    const { config, files } = loadConfig({
      file: write({ upstream: MINIMAL.upstream, jwt: { audience: 'a', keysFile: 'keys/jwks.json' } }, folder),
      env: {},
    });
    expect(config.jwt?.[0]?.keysFile).toBe(join(folder, 'keys/jwks.json'));
    expect(files).toEqual([join(folder, 'config.yaml'), join(folder, 'keys/jwks.json')]);
  });
});

describe('messages that say how to fix it', () => {
  it('suggests the nearest key for an unknown one, at any depth', () => {
    const lines = problems({
      upstream: { url: 'http://127.0.0.1:5000', timeoutSecond: 5 },
      jwt: { audiance: 'api', jwksURI: 'https://idp/jwks' },
      routes: [
        { path: '/a', alow: { users: ['a'] } },
        { path: '/b', allow: { group: ['x'] } },
      ],
      sesion: {},
      wholly_unrelated: 1,
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        'config: upstream.timeoutSecond: unknown key; did you mean `timeoutSeconds`?',
        'config: jwt.audiance: unknown key; did you mean `audience`?',
        'config: jwt.jwksURI: unknown key; did you mean `jwksUri`?',
        'config: routes.0.alow: unknown key; did you mean `allow`?',
        'config: routes.1.allow.group: unknown key; did you mean `groups`?',
        'config: sesion: unknown key; did you mean `session`?',
        'config: wholly_unrelated: unknown key',
      ]),
    );
  });

  it('names the environment variable an unknown key came from, with the suggestion', () => {
    const lines = problems(MINIMAL, { AUTH_SIDECAR_UPSTREM__URL: 'http://127.0.0.1:5000' });
    expect(lines).toContain('config: upstrem: unknown key; did you mean `upstream`? (from AUTH_SIDECAR_UPSTREM__URL)');
  });

  it('says how to write a lone method for auth, and that the method is not configured', () => {
    const lines = problems({
      ...MINIMAL,
      routes: [
        { path: '/a', auth: 'jwt' },
        { path: '/b', auth: 'basic' },
      ],
    });
    expect(lines).toContain('config: routes.0.auth: must be "none" or a list of methods: use ["jwt"]');
    expect(lines).toContain('config: routes.1.auth: must be "none" or a list of methods: use ["basic"]');
    expect(lines).toContain('config: routes.1.auth: basic is not configured (set basic)');
    expect(lines.filter((line) => line.startsWith('config: routes.0.'))).toHaveLength(1);
    expect(problems({ ...MINIMAL, routes: [{ path: '/a', auth: 'ldap' }] })).toContain(
      'config: routes.0.auth: must be "none" or a list of jwt, basic, session, mtls',
    );
  });

  it('says first that no config file was given, when none was and keys are missing', () => {
    let lines: readonly string[] = [];
    try {
      loadConfig({ env: {} });
    } catch (error) {
      lines = (error as ConfigError).lines;
    }
    expect(lines[0]).toBe(
      'config: file: no config file was given (--config FILE, or AUTH_SIDECAR_CONFIG); only AUTH_SIDECAR_* variables were read',
    );
    expect(lines).toContain('config: upstream: is required');
    // A config made of variables alone is still a config.
    const env = { AUTH_SIDECAR_UPSTREAM__URL: 'http://127.0.0.1:5000', AUTH_SIDECAR_BASIC__HTPASSWD_FILE: '/dev/null' };
    expect(loadConfig({ env }).config.upstream.url).toBe('http://127.0.0.1:5000');
  });
});
