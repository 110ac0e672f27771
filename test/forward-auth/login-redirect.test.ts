// The login-redirect path through real consumers: a browser page load without a session is
// sent to the login by nginx (from X-Auth-Request-Login) and by Caddy (?login=redirect), logs
// in at a real OpenID Provider, and comes back through the consumer to the app with a session
// that the forward-auth check accepts. API calls keep their 401.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page, TestBrowser } from '../support/browser.ts';
import { caddy, nginx } from '../support/consumers.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import type { ExternalServer } from '../support/external-server.ts';
import { clientFor, login, PUBLIC_HOST, sidecarConfig } from '../support/login-stack.ts';
import { startOidcProvider, type TestProvider } from '../support/oidc-provider.ts';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.ts';

const ROUTES = [
  { path: '/static/**', methods: ['GET', 'HEAD'], auth: 'none' },
  { path: '/admin/**', allow: { groups: ['admins'] } },
];

describe.each([nginx, caddy])('login through $name', (consumer) => {
  let provider: TestProvider;
  let upstream: EchoUpstream;
  let sidecar: TestSidecar;
  let server: ExternalServer;

  beforeAll(async () => {
    provider = await startOidcProvider();
    upstream = await startEchoUpstream();
    sidecar = await startTestSidecar(
      sidecarConfig(provider.issuer, upstream.url, { routes: ROUTES, trustedProxies: ['127.0.0.1'] }),
    );
    server = await consumer.start(Number(new URL(sidecar.url).port), upstream.port);
    // The browser reaches app.test through the consumer: login, callback and app alike.
    provider.addClient(clientFor(server.url));
  });
  afterAll(async () => {
    await server?.stop();
    await sidecar?.stop();
    await upstream?.close();
    await provider?.close();
  });

  const browser = () => new TestBrowser({ [PUBLIC_HOST]: server.url });

  it('sends a browser page load to the login, and lets it in afterwards', async () => {
    const first = await browser().fetch(`http://${PUBLIC_HOST}/admin/users?tab=2`);
    expect(first.status).toBe(302);
    expect(first.location).toBe(`http://${PUBLIC_HOST}/oauth2/start?rd=%2Fadmin%2Fusers%3Ftab%3D2`);

    const user = browser();
    const hops = await login(user, 'alice', '/admin/users?tab=2');
    const last = hops[hops.length - 1] as Page;
    expect(last.url).toBe(`http://${PUBLIC_HOST}/admin/users?tab=2`);
    expect(last.status).toBe(200);
    const echo = JSON.parse(last.body) as { url: string; headers: Record<string, string[]> };
    expect(echo.url).toBe('/admin/users?tab=2');
    expect(echo.headers['x-forwarded-user']).toBeDefined();
    expect(echo.headers['x-forwarded-email']).toEqual(['alice@example.com']);
  });

  it('refuses a logged-in user the route rules refuse (403), and keeps API calls at 401', async () => {
    const bob = browser();
    const hops = await login(bob, 'bob', '/');
    expect((hops[hops.length - 1] as Page).status).toBe(200);
    expect((await bob.fetch(`http://${PUBLIC_HOST}/admin/users`)).status).toBe(403);
    const api = await browser().fetch(`http://${PUBLIC_HOST}/admin/users`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(401);
    expect(api.location).toBeUndefined();
  });
});

describe('login redirects from the check itself', () => {
  let provider: TestProvider;
  let upstream: EchoUpstream;
  let sidecar: TestSidecar;

  beforeAll(async () => {
    provider = await startOidcProvider();
    upstream = await startEchoUpstream();
    const config = { routes: [...ROUTES, { path: '/api/**', auth: ['jwt'] }], trustedProxies: ['127.0.0.1'] };
    sidecar = await startTestSidecar({
      ...sidecarConfig(provider.issuer, upstream.url, config),
      jwt: { issuer: provider.issuer, audience: 'my-api' },
    });
  });
  afterAll(async () => {
    await sidecar?.stop();
    await upstream?.close();
    await provider?.close();
  });

  const page = { accept: 'text/html,application/xhtml+xml', 'x-forwarded-method': 'GET' };
  const check = (path: string, headers: Record<string, string>, method = 'GET') =>
    fetch(`${sidecar.url}${path}`, { method, headers, redirect: 'manual' });

  it('names the login in X-Auth-Request-Login on the 401 of a browser page load (nginx)', async () => {
    const response = await check('/oauth2/auth', { ...page, 'x-forwarded-uri': '/admin/x?a=1&b=2' });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-auth-request-login')).toBe('/oauth2/start?rd=%2Fadmin%2Fx%3Fa%3D1%26b%3D2');
    expect(response.headers.get('location')).toBeNull();
  });

  it('answers 302 when asked, by query (Traefik, Caddy) or header (Envoy)', async () => {
    const byQuery = await check('/oauth2/auth?login=redirect', { ...page, 'x-forwarded-uri': '/admin/x' });
    expect(byQuery.status).toBe(302);
    expect(byQuery.headers.get('location')).toBe('/oauth2/start?rd=%2Fadmin%2Fx');
    const byHeader = await check('/oauth2/auth/admin/x?y=1', { accept: 'text/html', 'x-auth-login': 'redirect' });
    expect(byHeader.status).toBe(302);
    expect(byHeader.headers.get('location')).toBe('/oauth2/start?rd=%2Fadmin%2Fx%3Fy%3D1');
  });

  it('never redirects an API call, a non-GET, or a route that does not accept sessions', async () => {
    const api = await check('/oauth2/auth?login=redirect', { accept: 'application/json', 'x-forwarded-uri': '/x' });
    expect(api.status).toBe(401);
    expect(api.headers.get('x-auth-request-login')).toBeNull();
    const post = { ...page, 'x-forwarded-method': 'POST', 'x-forwarded-uri': '/x' };
    expect((await check('/oauth2/auth?login=redirect', post)).status).toBe(401);
    const jwtOnly = await check('/oauth2/auth?login=redirect', { ...page, 'x-forwarded-uri': '/api/items' });
    expect(jwtOnly.status).toBe(401);
    expect(jwtOnly.headers.get('www-authenticate')).toBe('Bearer realm="auth-sidecar"');
  });
});
