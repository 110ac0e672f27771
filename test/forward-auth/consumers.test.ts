// Real consumers: Debian's nginx (auth_request) and Caddy (forward_auth), each run with the
// config from examples/ (ports replaced), in front of the echo upstream, with a real sidecar
// as their auth service.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { caddy, EXAMPLES, nginx } from '../support/consumers.ts';
import type { ExternalServer } from '../support/external-server.ts';
import { type JwtStack, startJwtStack } from '../support/jwt-stack.ts';

/** The example's sidecar config (its routes, trusted proxies, demo users), JWT added by the fixture. */
function exampleSidecar(): Record<string, unknown> {
  const folder = join(EXAMPLES, 'nginx-forward-auth');
  const example = parse(readFileSync(join(folder, 'auth-sidecar.yaml'), 'utf8'));
  const basic = {
    htpasswdFile: join(folder, example.basic.htpasswdFile),
    groupsFile: join(folder, example.basic.groupsFile),
  };
  return { routes: example.routes, trustedProxies: example.trustedProxies, basic };
}

const demoUser = (user: 'alice' | 'bob') => `Basic ${Buffer.from(`${user}:${user}-demo-password`).toString('base64')}`;

describe.each([nginx, caddy])('through $name', (consumer) => {
  let fixture: JwtStack;
  let server: ExternalServer;
  let adminToken: string;
  let userToken: string;

  beforeAll(async () => {
    fixture = await startJwtStack(exampleSidecar());
    const sidecarPort = Number(new URL(fixture.sidecar.url).port);
    server = await consumer.start(sidecarPort, fixture.upstream.port);
    adminToken = await fixture.token({ sub: 'alice', email: 'alice@corp.com', groups: ['admins', 'ops'] });
    userToken = await fixture.token({ sub: 'bob', groups: ['dev'], scope: 'read' });
  });
  afterAll(async () => {
    await server?.stop();
    await fixture?.close();
  });

  let counter = 0;
  async function send(path: string, headers: Record<string, string> = {}, init: RequestInit = {}) {
    const requestId = `${consumer.name.split(' ')[0]}-${++counter}`;
    const response = await fetch(`${server.url}${path}`, {
      ...init,
      headers: { 'x-request-id': requestId, ...headers },
      redirect: 'manual',
    });
    await response.arrayBuffer();
    const echo = fixture.upstream.received.find((e) => e.headers['x-request-id']?.[0] === requestId);
    return { response, echo };
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('lets an allowed identity through, with the identity headers the sidecar answered', async () => {
    const { response, echo } = await send('/admin/users?page=2', {
      ...bearer(adminToken),
      'x-forwarded-user': 'mallory',
    });
    expect(response.status).toBe(200);
    expect(echo?.url).toBe('/admin/users?page=2');
    expect(echo?.headers['x-forwarded-user']).toEqual(['alice']);
    expect(echo?.headers['x-forwarded-email']).toEqual(['alice@corp.com']);
    expect(echo?.headers['x-forwarded-groups']).toEqual(['admins,ops']);
  });

  it('lets a public route through without credentials, and no client identity header with it', async () => {
    const { response, echo } = await send('/static/app.js', { 'x-forwarded-user': 'mallory' });
    expect(response.status).toBe(200);
    expect(echo?.headers['x-forwarded-user']).toBeUndefined();
    expect(echo?.headers['x-forwarded-email']).toBeUndefined();
  });

  it('answers 401 with the challenges to a caller without credentials; the app is not asked', async () => {
    const { response, echo } = await send('/admin/users', { accept: 'application/json' });
    expect(response.status).toBe(401);
    // nginx before 1.23 passes on only the first WWW-Authenticate of the auth answer.
    expect(response.headers.get('www-authenticate')).toBe(
      consumer === nginx ? 'Bearer realm="auth-sidecar"' : 'Bearer realm="auth-sidecar", Basic realm="auth-sidecar"',
    );
    expect(echo).toBeUndefined();
  });

  it('takes the demo users of the example: alice is an admin, bob is not', async () => {
    const alice = await send('/admin/users', { authorization: demoUser('alice') });
    expect(alice.response.status).toBe(200);
    expect(alice.echo?.headers['x-forwarded-user']).toEqual(['alice']);
    expect(alice.echo?.headers['x-forwarded-groups']).toEqual(['admins,dev']);
    expect((await send('/admin/users', { authorization: demoUser('bob') })).response.status).toBe(403);
    const wrong = await send('/admin/users', { authorization: `Basic ${Buffer.from('bob:nope').toString('base64')}` });
    expect(wrong.response.status).toBe(401);
  });

  it('answers 403 to an identity the route rules refuse', async () => {
    const { response, echo } = await send('/admin/users', bearer(userToken));
    expect(response.status).toBe(403);
    expect(echo).toBeUndefined();
  });

  it('answers 403 with insufficient_scope to a token without the route scopes', async () => {
    const { response } = await send('/api/items', bearer(adminToken));
    expect(response.status).toBe(403);
    if (consumer === caddy) {
      // Caddy passes the sidecar's answer through; nginx sends its own 403 page.
      expect(response.headers.get('www-authenticate')).toBe(
        'Bearer realm="auth-sidecar", error="insufficient_scope", scope="read"',
      );
    }
  });

  it('checks the method the client used, and passes request bodies untouched', async () => {
    expect((await send('/static/app.js', {}, { method: 'POST', body: 'x' })).response.status).toBe(401);
    const body = 'a'.repeat(100_000);
    const { response, echo } = await send('/api/items', bearer(userToken), { method: 'POST', body });
    expect(response.status).toBe(200);
    expect(echo?.method).toBe('POST');
    expect(echo?.bodyBytes).toBe(body.length);
    // bob has no email and no preferred name: those headers are absent, not empty or made up.
    expect(echo?.headers['x-forwarded-user']).toEqual(['bob']);
    expect(echo?.headers['x-forwarded-email']).toBeUndefined();
    expect(echo?.headers['x-forwarded-preferred-username']).toBeUndefined();
  });

  it('cannot be steered by client-sent X-Forwarded-Uri, X-Original-URI or X-Forwarded-Method', async () => {
    const spoof = { 'x-forwarded-uri': '/static/x', 'x-original-uri': '/static/x', 'x-forwarded-method': 'GET' };
    const { response, echo } = await send('/admin/users', spoof, { method: 'DELETE' });
    expect(response.status).toBe(401);
    expect(echo).toBeUndefined();
  });

  it('decides the bypass paths on their normalized form', async () => {
    for (const path of ['/static/..%2fadmin/users', '/static/..%5cadmin']) {
      const { response, echo } = await send(path, bearer(adminToken));
      expect([400, 403], path).toContain(response.status);
      expect(echo, path).toBeUndefined();
    }
    const { response } = await send('/admin;x/users', bearer(userToken));
    expect(response.status).toBe(403);
  });
});

describe.each([nginx, caddy])('through $name, to a sidecar that does not trust it', (consumer) => {
  let fixture: JwtStack;
  let server: ExternalServer;

  beforeAll(async () => {
    fixture = await startJwtStack({ ...exampleSidecar(), trustedProxies: ['10.0.0.0/8'] });
    server = await consumer.start(Number(new URL(fixture.sidecar.url).port), fixture.upstream.port);
  });
  afterAll(async () => {
    await server?.stop();
    await fixture?.close();
  });

  it('has its X-Forwarded-Uri and -Method ignored: every path is checked as an unmatched one', async () => {
    // Public when believed; not believed, it needs an identity like any unmatched path.
    expect((await fetch(`${server.url}/static/app.js`)).status).toBe(401);
    // Admins only when believed; not believed, any identity passes.
    const token = await fixture.token({ sub: 'bob', groups: ['dev'] });
    const response = await fetch(`${server.url}/admin/users`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const line = fixture.sidecar.logs.findLast((l) => l.msg === 'request' && l.path === '/oauth2/auth');
    expect(line?.checked).toEqual({ method: null, path: null, route: null });
  });
});
