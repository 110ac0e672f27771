// Traefik's forwardAuth and Envoy's ext_authz HTTP service are not Debian packages, so their
// check requests are built here the way they build them, from the settings of the example
// configs in examples/ (address, headers passed, path prefix), and sent to a real sidecar.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type JwtStack, startJwtStack } from '../support/jwt-stack.ts';

const EXAMPLES = join(import.meta.dirname, '../../examples');
const readYaml = (file: string) => parse(readFileSync(join(EXAMPLES, file), 'utf8'));

interface ClientRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
}

let fixture: JwtStack;
let admin: string;
let user: string;

beforeAll(async () => {
  const example = readYaml('traefik-forward-auth/auth-sidecar.yaml');
  fixture = await startJwtStack({ routes: example.routes, trustedProxies: example.trustedProxies });
  admin = `Bearer ${await fixture.token({ sub: 'alice', email: 'alice@corp.com', groups: ['admins'] })}`;
  user = `Bearer ${await fixture.token({ sub: 'bob', groups: ['dev'] })}`;
});
afterAll(() => fixture.close());

function pick(headers: Record<string, string>, names: string[]): Record<string, string> {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  return Object.fromEntries(Object.entries(headers).filter(([name]) => wanted.has(name.toLowerCase())));
}

describe('Traefik forwardAuth (examples/traefik-forward-auth/dynamic.yml)', () => {
  const settings = readYaml('traefik-forward-auth/dynamic.yml').http.middlewares['auth-sidecar'].forwardAuth;
  const address = new URL(settings.address);

  /** What Traefik sends: GET to the address, the listed client headers, X-Forwarded-*. */
  async function check(client: ClientRequest) {
    const response = await fetch(`${fixture.sidecar.url}${address.pathname}${address.search}`, {
      redirect: 'manual',
      headers: {
        ...pick(client.headers ?? {}, settings.authRequestHeaders),
        'X-Forwarded-Method': client.method,
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'app.example.com',
        'X-Forwarded-Uri': client.uri,
        'X-Forwarded-For': '203.0.113.7',
      },
    });
    const copied = pick(Object.fromEntries(response.headers), settings.authResponseHeaders);
    return { status: response.status, copied, response };
  }

  it('passes an allowed identity, with exactly the headers Traefik copies', async () => {
    const result = await check({ method: 'PUT', uri: '/admin/x?y=1', headers: { Authorization: admin } });
    expect(result.status).toBe(202);
    expect(result.copied).toEqual({
      'x-auth-request-user': 'alice',
      'x-auth-request-email': 'alice@corp.com',
      'x-auth-request-groups': 'admins',
    });
  });

  it('refuses with the answer Traefik hands to the client', async () => {
    const missing = await check({ method: 'GET', uri: '/admin/x', headers: { Accept: 'text/html' } });
    expect(missing.status).toBe(401);
    expect(missing.response.headers.get('www-authenticate')).toBe('Bearer realm="auth-sidecar"');
    expect((await check({ method: 'GET', uri: '/admin/x', headers: { Authorization: user } })).status).toBe(403);
  });

  it('lets public routes through for the methods they list only', async () => {
    const ok = await check({ method: 'HEAD', uri: '/static/app.js' });
    expect(ok.status).toBe(202);
    expect(ok.copied).toEqual({});
    expect((await check({ method: 'POST', uri: '/static/app.js' })).status).toBe(401);
  });

  it('decides on the normalized path', async () => {
    expect((await check({ method: 'GET', uri: '/static/%2e%2e/admin', headers: { Authorization: user } })).status).toBe(
      403,
    );
    expect((await check({ method: 'GET', uri: '/static/..%2fadmin' })).status).toBe(403);
  });
});

describe('Envoy ext_authz (examples/envoy-ext-authz/envoy.yaml)', () => {
  const manager =
    readYaml('envoy-ext-authz/envoy.yaml').static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const extAuthz = manager.http_filters.find((f: { name: string }) => f.name === 'envoy.filters.http.ext_authz')
    .typed_config.http_service;
  const allowedHeaders: string[] = extAuthz.authorization_request.allowed_headers.patterns.map(
    (p: { exact: string }) => p.exact,
  );
  const added: Record<string, string> = Object.fromEntries(
    extAuthz.authorization_request.headers_to_add.map((h: { key: string; value: string }) => [h.key, h.value]),
  );
  const upstreamHeaders: string[] = extAuthz.authorization_response.allowed_upstream_headers.patterns.map(
    (p: { exact: string }) => p.exact,
  );
  const clientHeaders: string[] = extAuthz.authorization_response.allowed_client_headers.patterns.map(
    (p: { exact: string }) => p.exact,
  );

  /** What Envoy sends: the original method, path_prefix + original path, the allowed headers. */
  async function check(client: ClientRequest) {
    const headers = client.headers ?? {};
    const response = await fetch(`${fixture.sidecar.url}${extAuthz.path_prefix}${client.uri}`, {
      method: client.method,
      redirect: 'manual',
      headers: { ...pick(headers, [...allowedHeaders, 'authorization']), ...added },
    });
    return {
      status: response.status,
      upstream: pick(Object.fromEntries(response.headers), upstreamHeaders),
      client: pick(Object.fromEntries(response.headers), clientHeaders),
    };
  }

  it('allows with 200, the only status Envoy takes, and the headers it copies upstream', async () => {
    const result = await check({ method: 'DELETE', uri: '/admin/x?y=1', headers: { Authorization: admin } });
    expect(result.status).toBe(200);
    expect(result.upstream).toEqual({
      'x-auth-request-user': 'alice',
      'x-auth-request-email': 'alice@corp.com',
      'x-auth-request-groups': 'admins',
    });
  });

  it('refuses with 401 and the challenge Envoy passes to the client, or 403', async () => {
    const missing = await check({ method: 'POST', uri: '/admin/x', headers: { Accept: 'application/json' } });
    expect(missing.status).toBe(401);
    expect(missing.client).toEqual({
      'www-authenticate': 'Bearer realm="auth-sidecar"',
      'cache-control': 'no-store',
    });
    expect((await check({ method: 'GET', uri: '/admin/x', headers: { Authorization: user } })).status).toBe(403);
  });

  it('matches route methods with the original method', async () => {
    expect((await check({ method: 'GET', uri: '/static/app.js' })).status).toBe(200);
    expect((await check({ method: 'DELETE', uri: '/static/app.js' })).status).toBe(401);
  });

  it('lets a CORS preflight through only where a route allows it', async () => {
    const preflight = { Origin: 'https://web.example', 'Access-Control-Request-Method': 'POST' };
    expect((await check({ method: 'OPTIONS', uri: '/admin/x', headers: preflight })).status).toBe(401);
  });
});
