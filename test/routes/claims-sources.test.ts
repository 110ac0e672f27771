// allow.claims, allow.sourceCidrs and skipAuthPreflight through a real sidecar: claim rules on
// array and nested claims; the client address from a trusted proxy's X-Forwarded-For and
// never from an untrusted peer's; a public route open only to some addresses; CORS preflights
// with and without Origin; and the config errors of bad rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configProblems } from '../support/config-problems.ts';
import { accessLine, type JwtStack, startJwtStack } from '../support/jwt-stack.ts';

const ROUTES = [
  {
    path: '/internal/**',
    allow: { claims: { department: ['eng', 'ops'], 'realm_access.roles': ['operator'] }, sourceCidrs: ['10.0.0.0/8'] },
  },
  { path: '/levels/**', allow: { claims: { level: [3], staff: [true] } } },
  { path: '/metrics-scrape/**', auth: 'none', allow: { sourceCidrs: ['10.42.0.0/16', '2001:db8::/32'] } },
  { path: '/local/**', allow: { sourceCidrs: ['127.0.0.1'] } },
  { path: '/strict/**', preflight: 'deny' },
];

const OPERATOR = { department: 'ops', realm_access: { roles: ['viewer', 'operator'] } };

async function call(fixture: JwtStack, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const response = await fetch(`${fixture.sidecar.url}${path}`, { method, headers });
  await response.arrayBuffer();
  return response;
}

async function bearer(fixture: JwtStack, claims: Record<string, unknown>) {
  return { authorization: `Bearer ${await fixture.token(claims)}` };
}

describe('behind a trusted proxy: the client is the right-most untrusted X-Forwarded-For entry', () => {
  let fixture: JwtStack;
  beforeAll(async () => {
    fixture = await startJwtStack({ trustedProxies: ['127.0.0.1', '192.168.0.0/16'], routes: ROUTES });
  });
  afterAll(() => fixture.close());

  it('lets in a client from a listed network whose claims hold', async () => {
    const headers = { ...(await bearer(fixture, OPERATOR)), 'x-forwarded-for': '10.1.2.3' };
    expect((await call(fixture, '/internal/status', headers)).status).toBe(200);
  });

  it('refuses a client from elsewhere with 403 and no challenge, whatever it proves', async () => {
    const token = await bearer(fixture, OPERATOR);
    for (const headers of [{ ...token, 'x-forwarded-for': '203.0.113.5' }, { 'x-forwarded-for': '203.0.113.5' }]) {
      const response = await call(fixture, '/internal/status', headers);
      expect(response.status).toBe(403);
      expect(response.headers.get('www-authenticate')).toBeNull();
    }
    const response = await fetch(`${fixture.sidecar.url}/internal/status`, {
      headers: { 'x-forwarded-for': '203.0.113.5', 'x-request-id': 'outside-1' },
    });
    expect(await response.json()).toMatchObject({ error: 'forbidden' });
    expect(accessLine(fixture.sidecar, 'outside-1')).toMatchObject({
      status: 403,
      denied: 'client address 203.0.113.5 is not in sourceCidrs',
    });
  });

  it('is not fooled by a listed address to the left of the real client, nor by a trusted hop', async () => {
    const token = await bearer(fixture, OPERATOR);
    // The client (203.0.113.5) wrote "10.1.2.3" itself; the proxy appended what it saw.
    const forged = { ...token, 'x-forwarded-for': '10.1.2.3, 203.0.113.5' };
    expect((await call(fixture, '/internal/status', forged)).status).toBe(403);
    // 192.168.1.1 is a trusted proxy: the client is the entry before it.
    const chain = { ...token, 'x-forwarded-for': '10.1.2.3, 192.168.1.1' };
    expect((await call(fixture, '/internal/status', chain)).status).toBe(200);
  });

  it('needs every listed claim: array and nested claims, exactly', async () => {
    const from = { 'x-forwarded-for': '10.1.2.3' };
    const status = async (claims: Record<string, unknown>) =>
      (await call(fixture, '/internal/x', { ...from, ...(await bearer(fixture, claims)) })).status;
    expect(await status({ ...OPERATOR, department: ['sales', 'eng'] })).toBe(200);
    expect(await status({ ...OPERATOR, department: ['sales'] })).toBe(403);
    expect(await status({ ...OPERATOR, department: 'OPS' })).toBe(403);
    expect(await status({ department: 'ops', realm_access: { roles: ['viewer'] } })).toBe(403);
    expect(await status({ department: 'ops', realm_access: { roles: 'operator' } })).toBe(200);
    expect(await status({ department: 'ops' })).toBe(403);
    expect(await status({ department: { name: 'ops' }, realm_access: { roles: ['operator'] } })).toBe(403);
  });

  it('compares numbers and booleans by type', async () => {
    const status = async (claims: Record<string, unknown>) =>
      (await call(fixture, '/levels/x', await bearer(fixture, claims))).status;
    expect(await status({ level: 3, staff: true })).toBe(200);
    expect(await status({ level: '3', staff: true })).toBe(403);
    expect(await status({ level: 3, staff: 'true' })).toBe(403);
  });

  it('opens a public route to listed addresses only, IPv6 too', async () => {
    expect((await call(fixture, '/metrics-scrape/m', { 'x-forwarded-for': '10.42.9.9' })).status).toBe(200);
    expect((await call(fixture, '/metrics-scrape/m', { 'x-forwarded-for': '2001:db8::7' })).status).toBe(200);
    const outside = await call(fixture, '/metrics-scrape/m', { 'x-forwarded-for': '10.43.0.1' });
    expect(outside.status).toBe(403);
    expect(outside.headers.get('www-authenticate')).toBeNull();
    // No X-Forwarded-For: the client is the proxy itself, which is not listed.
    expect((await call(fixture, '/metrics-scrape/m')).status).toBe(403);
  });
});

describe('from an untrusted peer: X-Forwarded-For is never believed', () => {
  let fixture: JwtStack;
  beforeAll(async () => {
    fixture = await startJwtStack({ routes: ROUTES });
  });
  afterAll(() => fixture.close());

  it('decides on the peer address, whatever the client claims to be', async () => {
    const token = await bearer(fixture, OPERATOR);
    expect((await call(fixture, '/internal/x', { ...token, 'x-forwarded-for': '10.1.2.3' })).status).toBe(403);
    expect((await call(fixture, '/metrics-scrape/m', { 'x-forwarded-for': '10.42.0.1' })).status).toBe(403);
    expect((await call(fixture, '/local/x', { ...token, 'x-forwarded-for': '203.0.113.5' })).status).toBe(200);
  });

  it('applies the same rule to a forward-auth check', async () => {
    const response = await call(fixture, '/oauth2/auth', { 'x-forwarded-for': '10.42.0.1' });
    // The default rule (an untrusted caller names no original request): any identity.
    expect(response.status).toBe(401);
  });
});

describe('skipAuthPreflight', () => {
  let fixture: JwtStack;
  const preflight = { origin: 'https://web.example', 'access-control-request-method': 'PUT' };
  beforeAll(async () => {
    fixture = await startJwtStack({
      skipAuthPreflight: true,
      trustedProxies: ['127.0.0.1'],
      routes: [...ROUTES, { path: '/api/**', methods: ['GET', 'PUT'] }],
    });
  });
  afterAll(() => fixture.close());

  it('forwards a preflight without credentials, and without identity headers', async () => {
    const before = fixture.upstream.received.length;
    const headers = { ...preflight, 'x-forwarded-user': 'mallory' };
    const response = await call(fixture, '/api/items', headers, 'OPTIONS');
    expect(response.status).toBe(200);
    const echo = fixture.upstream.received[before];
    expect(echo?.method).toBe('OPTIONS');
    expect(echo?.headers['x-forwarded-user']).toBeUndefined();
    expect(echo?.headers['access-control-request-method']).toEqual(['PUT']);
    // A route with methods matches a preflight by the method it announces; any path passes.
    expect((await call(fixture, '/anything', preflight, 'OPTIONS')).status).toBe(200);
  });

  it('treats an OPTIONS without Origin or Access-Control-Request-Method as any request', async () => {
    const noOrigin = { 'access-control-request-method': 'PUT' };
    expect((await call(fixture, '/api/items', noOrigin, 'OPTIONS')).status).toBe(401);
    expect((await call(fixture, '/api/items', { origin: 'https://web.example' }, 'OPTIONS')).status).toBe(401);
    expect((await call(fixture, '/api/items', preflight, 'PUT')).status).toBe(401);
  });

  it('keeps a route that says preflight: deny, and every route’s sourceCidrs', async () => {
    expect((await call(fixture, '/strict/x', preflight, 'OPTIONS')).status).toBe(401);
    const outside = { ...preflight, 'x-forwarded-for': '203.0.113.5' };
    expect((await call(fixture, '/internal/x', outside, 'OPTIONS')).status).toBe(403);
    const inside = { ...preflight, 'x-forwarded-for': '10.9.8.7' };
    expect((await call(fixture, '/internal/x', inside, 'OPTIONS')).status).toBe(200);
  });
});

describe('config errors', () => {
  const problems = (routes: unknown[]) => configProblems({ routes });

  it('names each bad claim or address rule', () => {
    expect(
      problems([
        { path: '/a', allow: { claims: {} } },
        { path: '/b', allow: { claims: { department: [] } } },
        { path: '/c', allow: { claims: { department: 'eng' } } },
        { path: '/d', allow: { claims: { department: [{ x: 1 }, ''] } } },
        { path: '/e', allow: { sourceCidrs: ['10.0.0.0/33', 'example.com'] } },
        { path: '/f', allow: { sourceCidrs: [] } },
        { path: '/g', auth: 'none', allow: { groups: ['x'], sourceCidrs: ['10.0.0.0/8'] } },
      ]),
    ).toEqual([
      'config: routes.0.allow.claims: must not be empty (leave the key out instead)',
      'config: routes.1.allow.claims.department: must not be empty',
      'config: routes.2.allow.claims.department: must be a list of values',
      'config: routes.3.allow.claims.department.0: must be a string, a number or true/false',
      'config: routes.3.allow.claims.department.1: must not be empty',
      'config: routes.4.allow.sourceCidrs.0: must be an IP address or CIDR, e.g. "10.0.0.0/8"',
      'config: routes.4.allow.sourceCidrs.1: must be an IP address or CIDR, e.g. "10.0.0.0/8"',
      'config: routes.5.allow.sourceCidrs: must not be empty (leave the key out instead)',
      'config: routes.6.allow.groups: cannot be used with auth "none": a public route has no identity to check (only sourceCidrs)',
    ]);
  });
});
