// Whatever a config holds, loading it ends in a Config or a ConfigError of `config: ...` lines:
// never another exception (which the CLI would show as a crash with exit 1 instead of 78).
import { describe, expect, it } from 'vitest';
import { schemaKeys } from '../../scripts/config-reference.ts';
import { ConfigError } from '../errors.ts';
import { parseConfig } from './load.ts';

const SECRET = 'a-cookie-secret-of-at-least-32-bytes!';

/** Every key set, so that each substitution below lands in a config that is otherwise valid. */
const FULL = {
  listen: '0.0.0.0:4180',
  admin: { listen: '0.0.0.0:4181' },
  upstream: { url: 'http://127.0.0.1:5000', timeoutSeconds: 60, dropUnderscoreHeaders: true },
  publicUrl: 'https://app.example.com',
  pathPrefix: '/oauth2',
  trustedProxies: ['10.0.0.0/8'],
  shutdownTimeoutSeconds: 20,
  logLevel: 'info',
  jwt: {
    issuer: 'https://idp.example.com',
    audience: ['api'],
    jwksUri: 'https://idp.example.com/jwks',
    algorithms: ['RS256'],
    clockToleranceSeconds: 30,
    jwksCooldownSeconds: 30,
    claims: { user: 'sub', email: 'email', groups: 'groups', preferredUsername: 'preferred_username' },
  },
  oidc: {
    issuer: 'https://idp.example.com',
    clientId: 'app',
    clientSecret: 'secret',
    scopes: ['openid'],
    claims: { user: 'sub' },
    passAccessToken: false,
  },
  session: {
    store: 'memory',
    redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'x:' },
    cookie: { name: '_a', secret: SECRET, secure: true, sameSite: 'lax' },
    ttlSeconds: 3600,
  },
  routes: [{ path: '/a/**', methods: ['GET'], auth: ['jwt'], allow: { users: ['u'] }, preflight: 'deny' }],
};

const WEIRD: unknown[] = [
  null,
  0,
  -1,
  1e308,
  Number.NaN,
  '',
  ' ',
  'x',
  '::',
  'http://',
  '%zz',
  '/',
  [],
  [null],
  ['x', 1],
  {},
  { nested: { deep: [1] } },
  true,
  'a'.repeat(10_000),
];

function setAt(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1) as string] = value;
}

describe('config robustness', () => {
  it('accepts the full config the substitutions start from', () => {
    expect(() => parseConfig(structuredClone(FULL), '/')).not.toThrow();
  });

  it('answers every odd value of every key with config lines, never a crash', () => {
    let refused = 0;
    for (const { key } of schemaKeys()) {
      const path = key.replace('[]', '.0').split('.');
      for (const value of WEIRD) {
        const raw = structuredClone(FULL) as Record<string, unknown>;
        setAt(raw, path, value);
        try {
          parseConfig(raw, '/');
        } catch (error) {
          expect(error, `${key} = ${JSON.stringify(value)?.slice(0, 40)}`).toBeInstanceOf(ConfigError);
          for (const line of (error as ConfigError).lines) expect(line).toMatch(/^config: \S+: .+/);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(schemaKeys().length * 5);
  });

  it('answers odd documents as a whole with config lines', () => {
    for (const value of [[], 'text', 42, { jwt: [] }, { jwt: 'x' }, { routes: {} }, { session: [] }]) {
      expect(() => parseConfig(value as Record<string, unknown>, '/')).toThrow(ConfigError);
    }
  });
});
