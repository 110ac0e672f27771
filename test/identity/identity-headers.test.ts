// identityHeaders through a real sidecar: headers from the identity's claims (nested, arrays,
// numbers, booleans) with the contract's value rules, never a control character in a header,
// every client copy removed whatever its spelling, and the same headers in forward-auth answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configProblems } from '../support/config-problems.ts';
import { type Echo, echoOf } from '../support/echo-upstream.ts';
import { type JwtStack, startJwtStack } from '../support/jwt-stack.ts';

const IDENTITY_HEADERS = {
  'X-Forwarded-Department': 'department',
  'X-Forwarded-Roles': 'realm_access.roles',
  'X-Level': 'level',
  'X-Staff': 'staff',
  'X-Org': 'org',
  'X-Note': 'note',
};
const NAMES = Object.keys(IDENTITY_HEADERS).map((name) => name.toLowerCase());

let fixture: JwtStack;

beforeAll(async () => {
  fixture = await startJwtStack({
    identityHeaders: IDENTITY_HEADERS,
    trustedProxies: ['127.0.0.1'],
    // Headers with "_" reach the header step, so that their removal is what is tested.
    upstream: { dropUnderscoreHeaders: false },
    routes: [{ path: '/public/**', auth: 'none' }],
  });
});
afterAll(() => fixture?.close());

async function proxied(claims: Record<string, unknown>, headers: Record<string, string> = {}, path = '/app') {
  const response = await fetch(`${fixture.sidecar.url}${path}`, {
    headers: { authorization: `Bearer ${await fixture.token(claims)}`, ...headers },
  });
  expect(response.status).toBe(200);
  return echoOf(response);
}

/** What the app received of the configured headers, whatever the spelling. */
function claimHeaders(echo: Echo): Record<string, string[]> {
  return Object.fromEntries(Object.entries(echo.headers).filter(([name]) => NAMES.includes(name.replaceAll('_', '-'))));
}

describe('identityHeaders', () => {
  it('sets each header from its claim: strings, nested arrays, numbers, booleans', async () => {
    const echo = await proxied({
      department: 'eng',
      realm_access: { roles: ['operator', 'viewer'] },
      level: 3,
      staff: false,
      org: { name: 'acme' },
    });
    expect(claimHeaders(echo)).toEqual({
      'x-forwarded-department': ['eng'],
      'x-forwarded-roles': ['operator,viewer'],
      'x-level': ['3'],
      'x-staff': ['false'],
    });
    expect(echo.rawNames).toContain('X-Forwarded-Department');
  });

  it('sends no header for an absent claim, an object, or an empty one', async () => {
    const echo = await proxied({ org: { name: 'acme' }, realm_access: { roles: [] }, department: '' });
    expect(claimHeaders(echo)).toEqual({});
  });

  it('never sends a control character: a claim with CR/LF sends no header, and injects none', async () => {
    const echo = await proxied({
      note: 'ok\r\nX-Injected: 1',
      department: 'eng\u0000ops',
      level: 'tab\there',
      realm_access: { roles: ['viewer', 'admin\r\nX-Injected: 2', 'ops'] },
    });
    expect(claimHeaders(echo)).toEqual({ 'x-forwarded-roles': ['viewer,ops'] });
    expect(echo.headers['x-injected']).toBeUndefined();
  });

  it('leaves out array elements that hold a comma, and values with surrounding spaces', async () => {
    const echo = await proxied({ realm_access: { roles: ['a,admin', 'ops', 3, ' pad'] }, department: ' eng ' });
    expect(claimHeaders(echo)).toEqual({ 'x-forwarded-roles': ['ops'] });
  });

  it('sends non-ASCII text as its UTF-8 bytes', async () => {
    const echo = await proxied({ department: 'Développement' });
    const raw = echo.headers['x-forwarded-department']?.[0] ?? '';
    // The echo reads header bytes as latin-1, as WSGI does.
    expect(Buffer.from(raw, 'latin1').toString('utf8')).toBe('Développement');
  });

  it('removes every client copy first, in any case and in "_" spelling', async () => {
    const spoofed: Record<string, string> = {};
    for (const name of Object.keys(IDENTITY_HEADERS)) {
      spoofed[name] = 'spoofed';
      spoofed[name.toUpperCase().replaceAll('-', '_')] = 'spoofed';
      spoofed[name.toLowerCase().replace('-', '_')] = 'spoofed';
    }
    const none = await proxied({}, spoofed);
    expect(claimHeaders(none)).toEqual({});
    const some = await proxied({ department: 'eng', level: 1 }, spoofed);
    expect(claimHeaders(some)).toEqual({ 'x-forwarded-department': ['eng'], 'x-level': ['1'] });
    const publicRoute = await echoOf(await fetch(`${fixture.sidecar.url}/public/x`, { headers: spoofed }));
    expect(claimHeaders(publicRoute)).toEqual({});
  });

  it('answers forward-auth with the same headers under their own names', async () => {
    const token = await fixture.token({ department: 'ops', realm_access: { roles: ['operator'] }, note: 'a\nb' });
    const response = await fetch(`${fixture.sidecar.url}/oauth2/auth`, {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-uri': '/app', 'x-forwarded-method': 'GET' },
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-forwarded-department')).toBe('ops');
    expect(response.headers.get('x-forwarded-roles')).toBe('operator');
    expect(response.headers.get('x-auth-request-user')).toBe('alice');
    expect(response.headers.has('x-note')).toBe(false);
    const publicCheck = await fetch(`${fixture.sidecar.url}/oauth2/auth`, {
      headers: { 'x-forwarded-uri': '/public/x' },
    });
    expect(publicCheck.status).toBe(202);
    expect(publicCheck.headers.has('x-forwarded-department')).toBe(false);
  });

  it('has no identity token without identityToken: jwks.json is unknown', async () => {
    const response = await fetch(`${fixture.sidecar.url}/oauth2/jwks.json`);
    expect(response.status).toBe(404);
    expect(fixture.upstream.received.some((echo) => echo.url.includes('jwks.json'))).toBe(false);
  });
});

describe('identityHeaders config errors', () => {
  const problems = configProblems;

  it('names each header that is not a token, or is one of the sidecar’s own', () => {
    const own = "is one of the sidecar's own headers, or one that frames the request: choose another name";
    expect(
      problems({
        identityHeaders: {
          'X Bad': 'a',
          'X-Dept:': 'a',
          X_Dept: 'a',
          'X-Forwarded-User': 'a',
          'x-forwarded-groups': 'a',
          'X-Auth-Request-Email': 'a',
          Authorization: 'a',
          Cookie: 'a',
          Host: 'a',
          'X-Forwarded-For': 'a',
          'X-Empty': '',
        },
      }),
    ).toEqual([
      'config: identityHeaders.X-Empty: must not be empty',
      'config: identityHeaders.X Bad: must be a header name, such as "X-Forwarded-Department"',
      'config: identityHeaders.X-Dept:: must be a header name, such as "X-Forwarded-Department"',
      'config: identityHeaders.X_Dept: must not contain "_": WSGI and CGI apps read it as "-", and proxies drop such headers',
      ...['X-Forwarded-User', 'x-forwarded-groups', 'X-Auth-Request-Email', 'Authorization', 'Cookie', 'Host'].map(
        (name) => `config: identityHeaders.${name}: ${own}`,
      ),
      `config: identityHeaders.X-Forwarded-For: ${own}`,
    ]);
  });

  it('refuses two names for one header, and the identity token’s own header', () => {
    expect(
      problems({
        identityToken: { signingKeyFile: 'key.pem' },
        identityHeaders: { 'X-Dept': 'a', 'x-dept': 'b', 'X-Auth-Sidecar-Identity': 'c' },
      }),
    ).toEqual([
      'config: identityHeaders.x-dept: names the same header as identityHeaders.X-Dept (header names are case-insensitive)',
      'config: identityHeaders.X-Auth-Sidecar-Identity: names the same header as identityToken.header (header names are case-insensitive)',
    ]);
    expect(problems({ identityHeaders: {} })).toEqual([
      'config: identityHeaders: must not be empty (leave the key out instead)',
    ]);
  });
});
