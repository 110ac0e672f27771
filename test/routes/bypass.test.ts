// The bypass list, through a real sidecar in front of the echo upstream: every named case, and
// generated paths, checked against what the upstream really received.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLine, type JwtStack, startJwtStack } from '../support/jwt-stack.ts';
import { rawPath, readings } from '../support/paths.ts';
import { sendRaw } from '../support/raw-http.ts';

const ROUTES = [
  { path: '/static/**', methods: ['GET', 'HEAD'], auth: 'none' },
  { path: '/public/**', auth: 'none' },
  { path: '/api/status', auth: 'none' },
  { path: '/admin/**', allow: { groups: ['admins'] } },
  { path: '/api/**', allow: { scopes: ['read'] } },
];

let fixture: JwtStack;
let userToken: string;
let adminToken: string;
let requestCounter = 0;

beforeAll(async () => {
  fixture = await startJwtStack({ routes: ROUTES });
  userToken = await fixture.token({ sub: 'bob', groups: ['dev'] });
  adminToken = await fixture.token({ sub: 'alice', groups: ['admins'], scope: 'read' });
});
afterAll(() => fixture.close());

/** Sends a raw request; returns its status and what the upstream received for it, if anything. */
async function send(target: string, token?: string, method = 'GET') {
  const requestId = `bypass-${++requestCounter}`;
  const headers: Record<string, string> = { 'X-Request-Id': requestId };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await sendRaw(fixture.sidecar.url, method, target, headers);
  const received = fixture.upstream.received.find((echo) => echo.headers['x-request-id']?.[0] === requestId);
  return { status: response.status, received, response, requestId };
}

describe('the named bypass cases', () => {
  it.each([
    ['/static/../admin', '/admin'],
    ['/static/%2e%2e/admin', '/admin'],
    ['/static/%2E%2E/admin/', '/admin/'],
    ['//admin', '/admin'],
    ['/static/./../admin/users', '/admin/users'],
  ])('%s is decided and forwarded as %s, under the admin rules', async (raw, forwarded) => {
    expect((await send(raw)).status).toBe(401);
    const denied = await send(raw, userToken);
    expect(denied.status).toBe(403);
    expect(denied.received).toBeUndefined();
    const allowed = await send(raw, adminToken);
    expect(allowed.status).toBe(200);
    expect(allowed.received?.url).toBe(forwarded);
    expect(accessLine(fixture.sidecar, allowed.requestId)).toMatchObject({ route: '/admin/**', path: forwarded });
  });

  it.each([
    '/static/..%2fadmin',
    '/static/..%2Fadmin',
    '/static/..%5cadmin',
    '/static/..\\admin',
    '/admin%00',
    '/static/x%00/../../admin',
    '/admin;x',
    '/static/..;/admin',
    '/static/%2e%2e;/admin',
    '/static//../admin',
    '/../admin',
    '/static/%c0%ae%c0%ae/admin',
  ])('%s is refused with 400 and never reaches the app', async (raw) => {
    for (const token of [undefined, adminToken]) {
      const result = await send(raw, token);
      expect(result.status).toBe(400);
      expect(result.received).toBeUndefined();
      expect(result.response.headers.get('content-type')?.[0]).toMatch(/^application\/json/);
    }
  });

  it.each([
    '/admin.',
    '/admin./x',
    '/admin%20',
    '/admin%20/x',
    '/static/..%3B/admin',
    '/static/%252e%252e/admin',
    '/static/%2e%2e%253b/admin',
    '/static/..%252fadmin',
    '/static%EF%BC%8F..%EF%BC%8Fadmin',
    '/static%EF%BC%BC..%EF%BC%BCadmin',
  ])('%s (another reader’s /admin) is refused with 400 invalid_path for everyone', async (raw) => {
    for (const token of [undefined, userToken, adminToken]) {
      const result = await send(raw, token);
      expect(result.status).toBe(400);
      expect(result.received).toBeUndefined();
      expect(JSON.parse(result.response.body)).toMatchObject({ error: 'invalid_path' });
    }
  });

  it('/ADMIN is not /admin when rules are case-sensitive, and the app gets /ADMIN as it is', async () => {
    expect((await send('/ADMIN')).status).toBe(401);
    const result = await send('/ADMIN', userToken);
    expect(result.status).toBe(200);
    expect(result.received?.url).toBe('/ADMIN');
    expect(accessLine(fixture.sidecar, result.requestId)).toMatchObject({ route: null, path: '/ADMIN' });
  });

  it('the query never takes part in matching: /api/private?x=/status', async () => {
    expect((await send('/api/status?x=1')).status).toBe(200);
    const result = await send('/api/private?x=/status');
    expect(result.status).toBe(401);
    expect(result.received).toBeUndefined();
    const allowed = await send('/api/private?x=/status', adminToken);
    expect(allowed.status).toBe(200);
    expect(allowed.received?.url).toBe('/api/private?x=/status');
  });

  it('/public as a prefix never matches /public-admin', async () => {
    expect((await send('/public/page')).status).toBe(200);
    expect((await send('/public')).status).toBe(200);
    const result = await send('/public-admin');
    expect(result.status).toBe(401);
    expect(result.received).toBeUndefined();
  });

  it('a route that lists methods does not match others: POST /static/x needs an identity', async () => {
    expect((await send('/static/x', undefined, 'POST')).status).toBe(401);
    expect((await send('/static/x', undefined, 'HEAD')).status).toBe(200);
  });

  it('a path parameter that changes no rule passes, and reaches the app', async () => {
    const result = await send('/admin/page;jsessionid=AB12?x=1', adminToken);
    expect(result.status).toBe(200);
    expect(result.received?.url).toBe('/admin/page;jsessionid=AB12?x=1');
    expect((await send('/static/app.js;v=2')).received?.url).toBe('/static/app.js;v=2');
  });
});

describe('generated paths through the sidecar (property)', () => {
  const under = (prefix: string, path: string) => path === prefix || path.startsWith(`${prefix}/`);
  const isPublic = (path: string) =>
    under('/static', path) || under('/public', path) || path === '/api/status' || path === '/api/status/';

  it('never lets a path that any reading puts outside the public prefixes through without credentials', async () => {
    await fc.assert(
      fc.asyncProperty(rawPath(), async (raw) => {
        const { status, received, requestId } = await send(raw);
        expect([200, 400, 401], raw).toContain(status);
        if (status !== 200) {
          expect(received, raw).toBeUndefined();
          return;
        }
        const sent = readings(raw.split('?')[0] as string);
        expect(isPublic(sent.literal) && isPublic(sent.withoutParameters), raw).toBe(true);
        // The upstream acts on the path the rule saw, however it reads it.
        const url = received?.url ?? '';
        const got = readings(url.split('?')[0] as string);
        expect(got, raw).toEqual(sent);
        expect(accessLine(fixture.sidecar, requestId)?.path, raw).toBe(got.withoutParameters);
      }),
      { numRuns: 150 },
    );
  });

  it('never lets a non-admin into a path that any reading puts under /admin', async () => {
    await fc.assert(
      fc.asyncProperty(rawPath(), async (raw) => {
        const { status, received } = await send(raw, userToken);
        expect([200, 400, 403], raw).toContain(status);
        if (status !== 200) return;
        const sent = readings(raw.split('?')[0] as string);
        const got = readings((received?.url ?? '').split('?')[0] as string);
        expect(got, raw).toEqual(sent);
        expect(under('/admin', got.literal) || under('/admin', got.withoutParameters), raw).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});
