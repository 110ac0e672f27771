// Claim values that a header cannot carry exactly, through a real sidecar: the app (X-Forwarded-*),
// forward-auth (X-Auth-Request-*) and userinfo never see a value the route rules did not see.
// One named test per case of issue 11, item 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Echo } from '../support/echo-upstream.ts';
import { accessLine, type JwtStack, startJwtStack } from '../support/jwt-stack.ts';

let fixture: JwtStack;
let counter = 0;

beforeAll(async () => {
  fixture = await startJwtStack({
    trustedProxies: ['127.0.0.1/32'],
    routes: [
      { path: '/admin/**', allow: { groups: ['admins'] } },
      { path: '/alice/**', allow: { users: ['alice'] } },
      { path: '/mail/**', allow: { emails: ['alice@example.com'] } },
    ],
  });
});
afterAll(() => fixture.close());

interface Seen {
  status: number;
  wwwAuthenticate: string | null;
  /** What the app received, when the request reached it. */
  app: Echo | undefined;
}

/** The request through the proxy, as the app sees it. */
async function proxied(path: string, token: string): Promise<Seen> {
  const requestId = `identity-${++counter}`;
  const res = await fetch(`${fixture.sidecar.url}${path}`, {
    headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
  });
  await res.arrayBuffer();
  const app = fixture.upstream.received.find((echo) => echo.headers['x-request-id']?.[0] === requestId);
  return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), app };
}

/** The forward-auth check of the same request, as nginx asks it. */
function forwardAuth(path: string, token: string): Promise<Response> {
  return fetch(`${fixture.sidecar.url}/oauth2/auth`, {
    headers: { authorization: `Bearer ${token}`, 'x-forwarded-uri': path, 'x-forwarded-method': 'GET' },
  });
}

/** The rules refuse the identity: 403 from the proxy (the app sees nothing) and from forward-auth. */
async function expectForbidden(path: string, token: string): Promise<void> {
  const seen = await proxied(path, token);
  expect(seen.status).toBe(403);
  expect(seen.app).toBeUndefined();
  expect((await forwardAuth(path, token)).status).toBe(403);
}

async function userinfo(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${fixture.sidecar.url}/oauth2/userinfo`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('a user name that cannot be sent exactly is no identity', () => {
  it.each([
    ['ali\u0000ce', 'a control character'],
    ['alice ', 'leading or trailing whitespace'],
    [' alice', 'leading or trailing whitespace'],
    ['ali\tce', 'a control character'],
    ['a'.repeat(257), 'more than 256 bytes'],
  ])('sub %j: 401 invalid_token everywhere, never "alice" at the app', async (sub, reason) => {
    const token = await fixture.token({ sub });
    for (const path of ['/x', '/alice/x']) {
      const seen = await proxied(path, token);
      expect(seen.status).toBe(401);
      expect(seen.wwwAuthenticate).toContain('error="invalid_token"');
      expect(seen.wwwAuthenticate).toContain(`error_description="the token has a sub claim with ${reason}"`);
      expect(seen.app).toBeUndefined();
      const check = await forwardAuth(path, token);
      expect(check.status).toBe(401);
      expect(check.headers.get('x-auth-request-user')).toBeNull();
    }
    expect((await userinfo(token)).status).toBe(401);
  });
});

describe('a group that cannot be sent exactly is left out', () => {
  it.each([['ad\u0000mins'], [' admins'], ['admins '], ['ad\tmins']])(
    'groups [%j]: /admin is refused by the sidecar and the app never reads "admins"',
    async (group) => {
      const token = await fixture.token({ sub: 'carl', groups: [group, 'staff'] });
      await expectForbidden('/admin/x', token);

      const other = await proxied('/x', token);
      expect(other.status).toBe(200);
      expect(other.app?.headers['x-forwarded-user']).toEqual(['carl']);
      expect(other.app?.headers['x-forwarded-groups']).toEqual(['staff']);
      const check = await forwardAuth('/x', token);
      expect(check.status).toBe(202);
      expect(check.headers.get('x-auth-request-groups')).toBe('staff');
      expect((await userinfo(token)).body.groups).toEqual(['staff']);
    },
  );

  it('with no group left, no groups header at all', async () => {
    const token = await fixture.token({ sub: 'carl', groups: ['ad\u0000mins'] });
    const seen = await proxied('/x', token);
    expect(seen.status).toBe(200);
    expect(seen.app?.headers['x-forwarded-groups']).toBeUndefined();
    expect((await forwardAuth('/x', token)).headers.get('x-auth-request-groups')).toBeNull();
  });
});

describe('an email or preferred username that cannot be sent exactly is left out', () => {
  it('email "alice@example.com\\u0000": no email for the rules, the app, forward-auth or userinfo', async () => {
    const token = await fixture.token({ sub: 'carl', email: 'alice@example.com\u0000', preferred_username: 'alice ' });
    await expectForbidden('/mail/x', token);

    const seen = await proxied('/x', token);
    expect(seen.status).toBe(200);
    expect(seen.app?.headers['x-forwarded-email']).toBeUndefined();
    expect(seen.app?.headers['x-forwarded-preferred-username']).toBeUndefined();
    const check = await forwardAuth('/x', token);
    expect(check.headers.get('x-auth-request-email')).toBeNull();
    expect(check.headers.get('x-auth-request-preferred-username')).toBeNull();
    expect((await userinfo(token)).body).toMatchObject({ user: 'carl', email: null });
  });

  it('a UTF-8 user name and email still reach the app unchanged, as UTF-8 bytes', async () => {
    const token = await fixture.token({ sub: 'José Müller', email: 'josé@example.com' });
    const seen = await proxied('/x', token);
    expect(seen.status).toBe(200);
    const bytes = (value: string | undefined) => Buffer.from(value ?? '', 'latin1').toString('utf8');
    expect(bytes(seen.app?.headers['x-forwarded-user']?.[0])).toBe('José Müller');
    expect(bytes(seen.app?.headers['x-forwarded-email']?.[0])).toBe('josé@example.com');
    const requestId = seen.app?.headers['x-request-id']?.[0] as string;
    expect(accessLine(fixture.sidecar, requestId)?.user).toBe('José Müller');
  });
});
