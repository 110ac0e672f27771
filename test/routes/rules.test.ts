// Route rules through a real sidecar: allow keys, methods, CORS preflights, RFC 6750's
// insufficient_scope, case-insensitive matching, and the config errors of bad rules.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { configProblems } from '../support/config-problems.ts';
import { type JwtStack, startJwtStack } from '../support/jwt-stack.ts';
import { eventually } from '../support/wait.ts';

let fixture: JwtStack;

beforeAll(async () => {
  fixture = await startJwtStack({
    routes: [
      { path: '/cors/**', methods: ['GET', 'POST'], preflight: 'allow', allow: { groups: ['dev'] } },
      { path: '/reports/**', allow: { scopes: ['reports:read', 'reports:list'] } },
      { path: '/corp/**', allow: { emailDomains: ['corp.com'] } },
      { path: '/people/**', allow: { users: ['alice'], emails: ['alice@corp.com'] } },
      { path: '/mixed/**', allow: { groups: ['admins'], scopes: ['write'] } },
    ],
  });
});
afterAll(() => fixture.close());

function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return fetch(`${fixture.sidecar.url}${path}`, { method, headers });
}

async function bearer(claims: Record<string, unknown>) {
  return { authorization: `Bearer ${await fixture.token(claims)}` };
}

describe('CORS preflight', () => {
  const preflight = { origin: 'https://web.example', 'access-control-request-method': 'POST' };

  it('passes without credentials on a route with preflight: allow, by the method it announces', async () => {
    const before = fixture.upstream.received.length;
    const response = await get('/cors/items', { ...preflight, 'x-forwarded-user': 'mallory' }, 'OPTIONS');
    expect(response.status).toBe(200);
    const echo = fixture.upstream.received[before];
    expect(echo?.method).toBe('OPTIONS');
    expect(echo?.headers['x-forwarded-user']).toBeUndefined();
    expect(echo?.headers.origin).toEqual(['https://web.example']);
  });

  it('is never let through by default', async () => {
    const response = await get('/reports/x', preflight, 'OPTIONS');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="auth-sidecar"');
  });

  it('needs Origin and Access-Control-Request-Method, and a method the route lists', async () => {
    expect((await get('/cors/items', { 'access-control-request-method': 'POST' }, 'OPTIONS')).status).toBe(401);
    expect((await get('/cors/items', { origin: 'https://web.example' }, 'OPTIONS')).status).toBe(401);
    const del = { origin: 'https://web.example', 'access-control-request-method': 'DELETE' };
    expect((await get('/cors/items', del, 'OPTIONS')).status).toBe(401);
  });

  it('lets nothing but the preflight through: the real request needs credentials', async () => {
    expect((await get('/cors/items', { origin: 'https://web.example' }, 'POST')).status).toBe(401);
    expect((await get('/cors/items', await bearer({ groups: ['dev'] }), 'POST')).status).toBe(200);
  });
});

describe('allow rules', () => {
  it('answers 403 with insufficient_scope (RFC 6750) when a token lacks the route scopes', async () => {
    const response = await get('/reports/q1', await bearer({ scope: 'reports:read' }));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="auth-sidecar", error="insufficient_scope", scope="reports:read reports:list"',
    );
    expect(await response.json()).toMatchObject({ error: 'insufficient_scope' });
    expect((await get('/reports/q1', await bearer({ scp: ['reports:read', 'reports:list'] }))).status).toBe(200);
  });

  it('says nothing of scopes when another rule fails first', async () => {
    const response = await get('/mixed/x', await bearer({ groups: ['dev'] }));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(await response.json()).toMatchObject({ error: 'forbidden' });
  });

  it('matches email domains exactly on a well-formed, verified address', async () => {
    expect((await get('/corp/x', await bearer({ email: 'bob@corp.com' }))).status).toBe(200);
    expect((await get('/corp/x', await bearer({ email: 'bob@evil.com@corp.com' }))).status).toBe(403);
    expect((await get('/corp/x', await bearer({ email: 'bob@sub.corp.com' }))).status).toBe(403);
    expect((await get('/corp/x', await bearer({ email: 'bob@corp.com', email_verified: false }))).status).toBe(403);
    // Cognito sends it as a string for federated users.
    expect((await get('/corp/x', await bearer({ email: 'bob@corp.com', email_verified: 'false' }))).status).toBe(403);
    expect((await get('/corp/x', await bearer({ email: 'bob@corp.com', email_verified: 'true' }))).status).toBe(200);
  });

  it('needs every key: users and emails both', async () => {
    expect((await get('/people/x', await bearer({ sub: 'alice', email: 'alice@corp.com' }))).status).toBe(200);
    expect((await get('/people/x', await bearer({ sub: 'alice', email: 'other@corp.com' }))).status).toBe(403);
    expect((await get('/people/x', await bearer({ sub: 'bob', email: 'alice@corp.com' }))).status).toBe(403);
  });

  it('logs why a request was refused, never in the answer', async () => {
    const response = await get('/corp/x', await bearer({ email: 'bob@other.com' }), 'GET');
    const body = await response.text();
    expect(body).not.toContain('other.com');
    const line = fixture.sidecar.logs.findLast((l) => l.msg === 'request' && l.path === '/corp/x');
    expect(line).toMatchObject({ status: 403, route: '/corp/**', denied: 'email domain "other.com" is not listed' });
  });
});

describe('caseInsensitiveRoutes', () => {
  it('applies the /admin rules to /ADMIN when set', async () => {
    const insensitive = await startJwtStack({
      caseInsensitiveRoutes: true,
      routes: [{ path: '/admin/**', allow: { groups: ['admins'] } }],
    });
    try {
      const token = { authorization: `Bearer ${await insensitive.token({ groups: ['dev'] })}` };
      expect((await fetch(`${insensitive.sidecar.url}/ADMIN/x`, { headers: token })).status).toBe(403);
      expect((await fetch(`${insensitive.sidecar.url}/other`, { headers: token })).status).toBe(200);
    } finally {
      await insensitive.close();
    }
  });
});

describe('reload', () => {
  it('compiles the new routes on a config change, and keeps the old ones when the new are invalid', async () => {
    const config = parse(readFileSync(fixture.sidecar.configFile, 'utf8'));
    const headers = await bearer({ sub: 'bob', groups: ['dev'] });
    expect((await get('/newly-public/x')).status).toBe(401);
    const waitFor = async (expected: number) => {
      await eventually(async () => (await get('/newly-public/x')).status === expected, `status ${expected}`);
      return (await get('/newly-public/x')).status;
    };
    writeFileSync(
      fixture.sidecar.configFile,
      stringify({ ...config, routes: [{ path: '/newly-public/**', auth: 'none' }, ...config.routes] }),
    );
    expect(await waitFor(200)).toBe(200);
    writeFileSync(fixture.sidecar.configFile, stringify({ ...config, routes: [{ path: '/a//b' }] }));
    const rejected = () => fixture.sidecar.logs.find((l) => String(l.msg).startsWith('config reload rejected'));
    await eventually(() => rejected() !== undefined, 'the reload to be rejected');
    expect(rejected()?.problems).toEqual(['config: routes.0.path: must not contain empty segments ("//")']);
    expect((await get('/newly-public/x')).status).toBe(200);
    expect((await get('/corp/x', headers)).status).toBe(403);
    writeFileSync(fixture.sidecar.configFile, stringify(config));
    expect(await waitFor(401)).toBe(401);
  });
});

describe('config errors', () => {
  const problems = (routes: unknown[]) => configProblems({ routes });

  it('names each bad rule by its index', () => {
    expect(
      problems([
        { path: '/ok/**' },
        { path: 'no-slash' },
        { path: '/a//b' },
        { path: '/a/../b' },
        { path: '/a%2Fb' },
        { path: '/a;x' },
        { path: '/x', allow: { groups: [] } },
        { path: '/x', allow: { emailDomains: ['@corp.com'] } },
        { path: '/x', allow: { scopes: ['a"b'] } },
        { path: '/x', auth: 'none', allow: { users: ['a'] } },
        { path: '/x', auth: ['jwt'] },
        { path: '/x', preflight: 'yes' },
        { path: '/x', allow: { emailDomains: ['corp.com', '*.corp.com', '.corp.com', 'corp.com '] } },
      ]),
    ).toEqual([
      'config: routes.1.path: must start with "/"',
      'config: routes.2.path: must not contain empty segments ("//")',
      'config: routes.3.path: must not contain "." or ".." segments',
      'config: routes.4.path: must be written decoded (rules see "/a b", not "/a%20b")',
      'config: routes.5.path: must not contain ";": rules never see path parameters',
      'config: routes.6.allow.groups: must not be empty (leave the key out instead)',
      'config: routes.7.allow.emailDomains.0: must be a domain such as "example.com", without "@"',
      'config: routes.8.allow.scopes.0: must be a scope token (RFC 6749 §3.3)',
      'config: routes.11.preflight: must be "allow" or "deny"',
      ...[1, 2, 3].map(
        (i) =>
          `config: routes.12.allow.emailDomains.${i}: must be a domain such as "example.com", matched exactly: no "*", spaces, leading or trailing "." (list each subdomain)`,
      ),
      'config: routes.9.allow.users: cannot be used with auth "none": a public route has no identity to check (only sourceCidrs)',
      'config: routes.10.auth: jwt is not configured (set jwt)',
    ]);
  });
});
