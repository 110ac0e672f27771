// GET /oauth2/auth and Envoy's /oauth2/auth/<path>, called the way nginx, Traefik, Caddy and
// Envoy call them, from a trusted and from an untrusted peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLine, type JwtStack, startJwtStack } from '../support/jwt-stack.ts';
import { sendRaw } from '../support/raw-http.ts';

const ROUTES = [
  { path: '/static/**', methods: ['GET', 'HEAD'], auth: 'none' },
  { path: '/admin/**', allow: { groups: ['admins'] } },
  { path: '/reports/**', allow: { scopes: ['reports'] } },
  { path: '/cors/**', methods: ['POST'], preflight: 'allow' },
];

let trusted: JwtStack;
let untrusted: JwtStack;
let adminToken: string;
let userToken: string;

beforeAll(async () => {
  [trusted, untrusted] = await Promise.all([
    startJwtStack({ routes: ROUTES, trustedProxies: ['127.0.0.1/32', '::1'] }),
    startJwtStack({ routes: ROUTES, trustedProxies: ['10.0.0.0/8'] }),
  ]);
  const claims = { sub: 'alice', email: 'alice@corp.com', preferred_username: 'Alice', groups: ['admins', 'dev'] };
  adminToken = await trusted.token(claims);
  userToken = await trusted.token({ sub: 'bob', groups: ['dev'] });
});
afterAll(() => Promise.all([trusted.close(), untrusted.close()]));

function check(fixture: JwtStack, headers: Record<string, string>, path = '/oauth2/auth', method = 'GET') {
  return fetch(`${fixture.sidecar.url}${path}`, { method, headers, redirect: 'manual' });
}

function original(uri: string, method = 'GET', token?: string): Record<string, string> {
  return {
    'x-forwarded-uri': uri,
    'x-forwarded-method': method,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

describe('GET /oauth2/auth from a trusted proxy', () => {
  it('answers 202 with the X-Auth-Request-* headers for an allowed identity', async () => {
    const response = await check(trusted, original('/admin/users?page=2', 'DELETE', adminToken));
    expect(response.status).toBe(202);
    expect(response.headers.get('x-auth-request-user')).toBe('alice');
    expect(response.headers.get('x-auth-request-email')).toBe('alice@corp.com');
    expect(response.headers.get('x-auth-request-groups')).toBe('admins,dev');
    expect(response.headers.get('x-auth-request-preferred-username')).toBe('Alice');
    expect(response.headers.get('x-auth-request-access-token')).toBeNull();
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toBe('');
  });

  it('leaves out of X-Auth-Request-Groups a group whose name has a comma', async () => {
    const token = await trusted.token({ sub: 'carol', groups: ['dev', 'x,admins'] });
    const allowed = await check(trusted, original('/other', 'GET', token));
    expect(allowed.status).toBe(202);
    expect(allowed.headers.get('x-auth-request-groups')).toBe('dev');
    const only = await check(trusted, original('/other', 'GET', await trusted.token({ sub: 'c', groups: ['a,b'] })));
    expect(only.headers.get('x-auth-request-groups')).toBeNull();
  });

  it('answers 401 with the route challenges, never a redirect, to a caller without credentials', async () => {
    const headers = { ...original('/admin/users'), accept: 'text/html,application/xhtml+xml' };
    const response = await check(trusted, headers);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="auth-sidecar"');
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('x-auth-request-user')).toBeNull();
  });

  it('answers 401 with error="invalid_token" for a bad token', async () => {
    const response = await check(trusted, original('/admin/users', 'GET', `${adminToken}x`));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="auth-sidecar", error="invalid_token"/);
  });

  it('answers 403 when the route rules refuse the identity', async () => {
    const response = await check(trusted, original('/admin/users', 'GET', userToken));
    expect(response.status).toBe(403);
    expect(response.headers.get('x-auth-request-user')).toBeNull();
    expect(await response.json()).toMatchObject({ error: 'forbidden' });
  });

  it('answers 403 with insufficient_scope for a token without the route scopes', async () => {
    const response = await check(trusted, original('/reports/q1', 'GET', userToken));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="auth-sidecar", error="insufficient_scope", scope="reports"',
    );
  });

  it('answers 202 without credentials for a public route, for the methods it lists', async () => {
    const response = await check(trusted, original('/static/app.js?v=1', 'GET'));
    expect(response.status).toBe(202);
    expect(response.headers.get('x-auth-request-user')).toBeNull();
    expect((await check(trusted, original('/static/app.js', 'POST'))).status).toBe(401);
  });

  it('applies only routes without methods when the proxy does not say the method', async () => {
    expect((await check(trusted, { 'x-forwarded-uri': '/static/app.js' })).status).toBe(401);
  });

  it('reads X-Original-URI (nginx) as X-Forwarded-Uri, and refuses the two disagreeing', async () => {
    expect((await check(trusted, { 'x-original-uri': '/static/a', 'x-forwarded-method': 'GET' })).status).toBe(202);
    const both = { 'x-original-uri': '/admin/x', 'x-forwarded-uri': '/static/a', 'x-forwarded-method': 'GET' };
    const response = await check(trusted, both);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'ambiguous_forwarded_uri' });
  });

  it('decides on the normalized path, and refuses what the sidecar would refuse to proxy', async () => {
    expect((await check(trusted, original('/static/../admin/x'))).status).toBe(401);
    expect((await check(trusted, original('/static/%2e%2e/admin/x', 'GET', userToken))).status).toBe(403);
    expect((await check(trusted, original('//admin', 'GET', userToken))).status).toBe(403);
    const refused = ['/static/..%2fadmin', '/static/..%5cadmin', '/admin%00', '/admin;x', '/../admin'];
    // Paths another reader would take for /admin (issue 11): trailing dot or space, encoded twice, fullwidth.
    refused.push(
      '/admin.',
      '/admin%20/x',
      '/static/..%3B/admin',
      '/static/%252e%252e/admin',
      '/x%EF%BC%8F..%EF%BC%8Fadmin',
    );
    for (const uri of refused) {
      const response = await check(trusted, original(uri, 'GET', adminToken));
      expect(response.status, uri).toBe(403);
      expect(((await response.json()) as { error: string }).error, uri).toMatch(/^(invalid_path|ambiguous_path)$/);
    }
    expect((await check(trusted, original('/api/private?x=/static/a'))).status).toBe(401);
  });

  it('refuses a forwarded method that is not one token', async () => {
    const response = await check(trusted, { 'x-forwarded-uri': '/static/a', 'x-forwarded-method': 'GET POST' });
    expect(response.status).toBe(403);
  });

  it('lets a CORS preflight through on a route that allows it', async () => {
    const headers = {
      ...original('/cors/items', 'OPTIONS'),
      origin: 'https://web.example',
      'access-control-request-method': 'POST',
    };
    expect((await check(trusted, headers)).status).toBe(202);
    expect((await check(trusted, original('/cors/items', 'OPTIONS'))).status).toBe(401);
  });

  it('keeps the 401 without oidc even when the caller asks for login redirects', async () => {
    const headers = { ...original('/admin/x'), accept: 'text/html' };
    expect((await check(trusted, headers, '/oauth2/auth?login=redirect')).status).toBe(401);
  });

  it('logs the request it checked and the rule that decided it', async () => {
    const headers = { ...original('/admin/users?x=1', 'POST', userToken), 'x-request-id': 'fa-log-1' };
    await check(trusted, headers);
    expect(accessLine(trusted.sidecar, 'fa-log-1')).toMatchObject({
      path: '/oauth2/auth',
      status: 403,
      user: 'bob',
      route: null,
      checked: { method: 'POST', path: '/admin/users', route: '/admin/**' },
      denied: 'no listed group',
    });
  });

  it('never proxies the check to the app', async () => {
    const before = trusted.upstream.received.length;
    await check(trusted, original('/admin/x', 'GET', adminToken));
    await check(trusted, original('/static/x', 'GET'));
    expect(trusted.upstream.received.length).toBe(before);
  });

  it('is not reached by names that only start like it', async () => {
    for (const path of ['/oauth2/authx', '/oauth2/userinfo/x', '/oauth2']) {
      expect((await check(trusted, original('/static/x'), path)).status, path).toBe(404);
    }
  });

  it('only takes GET and HEAD on /oauth2/auth itself', async () => {
    expect((await check(trusted, original('/static/x'), '/oauth2/auth', 'HEAD')).status).toBe(202);
    const post = await check(trusted, original('/static/x'), '/oauth2/auth', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe("Envoy's ext_authz form: /oauth2/auth/<original path>, original method", () => {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('answers 200 (what Envoy takes as allowed) with the identity headers', async () => {
    const response = await check(trusted, bearer(adminToken), '/oauth2/auth/admin/users?x=1', 'DELETE');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-auth-request-user')).toBe('alice');
    expect(response.headers.get('x-auth-request-groups')).toBe('admins,dev');
  });

  it('answers 401 and 403 as for the other form', async () => {
    expect((await check(trusted, {}, '/oauth2/auth/admin/users', 'POST')).status).toBe(401);
    expect((await check(trusted, bearer(userToken), '/oauth2/auth/admin/users', 'PUT')).status).toBe(403);
  });

  it('matches route methods with the original method', async () => {
    expect((await check(trusted, {}, '/oauth2/auth/static/app.js', 'GET')).status).toBe(200);
    expect((await check(trusted, {}, '/oauth2/auth/static/app.js', 'POST')).status).toBe(401);
  });

  it('normalizes the original path on its own, and refuses what it would refuse to proxy', async () => {
    expect((await check(trusted, bearer(userToken), '/oauth2/auth/static/%2e%2e/admin/x')).status).toBe(403);
    for (const path of ['/oauth2/auth/static/..%2fadmin', '/oauth2/auth/admin%00', '/oauth2/auth/admin;x']) {
      expect((await sendRaw(trusted.sidecar.url, 'GET', path, { authorization: `Bearer ${adminToken}` })).status).toBe(
        path === '/oauth2/auth/admin%00' || path === '/oauth2/auth/static/..%2fadmin' ? 400 : 403,
      );
    }
    // The original path climbs above its own root: refused, even though the whole path would not.
    const climbing = await sendRaw(trusted.sidecar.url, 'GET', '/oauth2/auth/../auth/static/x');
    expect(climbing.status).toBe(403);
  });

  it('ignores X-Forwarded-Uri in this form', async () => {
    const response = await check(trusted, { 'x-forwarded-uri': '/static/x' }, '/oauth2/auth/admin/x', 'GET');
    expect(response.status).toBe(401);
  });
});

describe('from a peer that is not a trusted proxy', () => {
  it('ignores X-Forwarded-Uri and X-Forwarded-Method: the check is the one for an unmatched path', async () => {
    expect((await check(untrusted, original('/static/app.js', 'GET'))).status).toBe(401);
    const userToken = await untrusted.token({ sub: 'bob', groups: ['dev'] });
    const response = await check(untrusted, original('/admin/users', 'GET', userToken));
    expect(response.status).toBe(202);
    expect(response.headers.get('x-auth-request-user')).toBe('bob');
    expect((await check(untrusted, { 'x-original-uri': '/static/app.js' })).status).toBe(401);
  });

  it('ignores the original path of the Envoy form too', async () => {
    expect((await check(untrusted, {}, '/oauth2/auth/static/app.js', 'GET')).status).toBe(401);
    const token = { authorization: `Bearer ${await untrusted.token({ sub: 'bob' })}` };
    expect((await check(untrusted, token, '/oauth2/auth/admin/x', 'GET')).status).toBe(200);
  });
});
