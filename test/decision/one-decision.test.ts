// One table of requests through the three places that decide: a proxied request, a
// forward-auth check (`/oauth2/auth` from a trusted peer, the request named by X-Forwarded-Uri
// and -Method) and `explain` (in-process, on the running sidecar's runtime). Each must give the
// same verdict, the same challenges and the same identity, with every kind of credential, for
// browsers and API clients, on encoded paths too, for claim and source-address rules (the
// client named by X-Forwarded-For from this trusted peer) and CORS preflights.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain } from '../../src/explain.ts';
import { echoOf } from '../support/echo-upstream.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, signToken } from '../support/keys.ts';
import { type LoginStack, login, PUBLIC_HOST, startLoginStack } from '../support/login-stack.ts';
import { tempDir } from '../support/sidecar.ts';

type Verdict = 'allowed' | 'public' | 'login' | 'unauthenticated' | 'forbidden' | 'throttled' | 'invalid';

interface Row {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly verdict: Verdict;
  /** For allowed requests: who the app and the forward-auth caller are told the caller is. */
  readonly user?: string;
}

/** What one place answered, reduced to what the three must agree on. */
interface Answer {
  readonly status: number;
  readonly challenges: string[];
  readonly login: string | null;
  readonly user: string | null;
}

const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const API = { accept: 'application/json' };
const INSIDE = { 'x-forwarded-for': '192.0.2.9, 10.1.2.3' };
const OUTSIDE = { 'x-forwarded-for': '10.1.2.3, 192.0.2.9' };
const PREFLIGHT = { origin: 'https://web.example', 'access-control-request-method': 'POST' };

let stack: LoginStack;
const credentials: Record<string, string> = {};

beforeAll(async () => {
  const dir = tempDir('one-decision-');
  const key = await createSigningKey('ES256');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
  htpasswd(join(dir, 'htpasswd'), [
    { user: 'root', password: 'root-pw' },
    { user: 'carol', password: 'carol-pw' },
    { user: 'dave', password: 'dave-pw' },
    { user: 'mallory', password: 'mallory-pw' },
  ]);
  writeFileSync(join(dir, 'groups'), 'admins: root\n');
  stack = await startLoginStack({
    config: {
      trustedProxies: ['127.0.0.1', '::1'],
      jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: join(dir, 'jwks.json') },
      basic: {
        htpasswdFile: join(dir, 'htpasswd'),
        groupsFile: join(dir, 'groups'),
        lockout: { maxFailures: 5, addressMaxFailures: 0 },
      },
      routes: [
        { path: '/static/**', methods: ['GET', 'HEAD'], auth: 'none' },
        { path: '/admin/**', allow: { groups: ['admins'] } },
        { path: '/api/**', auth: ['jwt', 'basic'], allow: { scopes: ['read'] } },
        { path: '/app/**', auth: ['session'] },
        { path: '/cors/**', methods: ['POST'], preflight: 'allow' },
        {
          path: '/internal/**',
          allow: {
            claims: { department: ['eng', 'ops'], 'realm_access.roles': ['operator'] },
            sourceCidrs: ['10.0.0.0/8'],
          },
        },
        { path: '/scrape/**', auth: 'none', allow: { sourceCidrs: ['10.42.0.0/16'] } },
        { path: '/no-preflight/**', preflight: 'deny' },
      ],
      skipAuthPreflight: true,
    },
  });
  const bearer = async (claims: Record<string, unknown>) => `Bearer ${await signToken(key, claims)}`;
  credentials.jwtAdmin = await bearer({ sub: 'alice', groups: ['admins'], scope: 'read' });
  credentials.jwtUser = await bearer({ sub: 'bob', groups: ['dev'] });
  credentials.jwtExpired = await bearer({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 600 });
  credentials.jwtTampered = `${credentials.jwtAdmin.slice(0, -4)}AAAA`;
  const operator = { realm_access: { roles: ['viewer', 'operator'] } };
  credentials.jwtOps = await bearer({ sub: 'olga', department: 'ops', ...operator });
  credentials.jwtEngArray = await bearer({ sub: 'erik', department: ['sales', 'eng'], ...operator });
  credentials.jwtEngCase = await bearer({ sub: 'emil', department: 'Eng', ...operator });
  credentials.jwtNoRoles = await bearer({ sub: 'nora', department: 'ops', realm_access: { roles: ['viewer'] } });
  credentials.jwtRolesFlat = await bearer({ sub: 'flo', department: 'ops', 'realm_access.roles': ['operator'] });
  credentials.basicRoot = basicAuth('root', 'root-pw');
  credentials.basicCarol = basicAuth('carol', 'carol-pw');
  credentials.basicWrong = basicAuth('dave', 'not-daves');
  credentials.basicLocked = basicAuth('mallory', 'mallory-pw');
  // Locks mallory (lockout.maxFailures) before any row runs.
  for (let i = 0; i < 5; i++) await proxied({ path: '/admin/', headers: { authorization: basicAuth('mallory', 'x') } });
  for (const user of ['alice', 'bob'] as const) {
    const browser = stack.browser();
    await login(browser, user);
    credentials[`session_${user}`] = `_auth_sidecar=${browser.cookie(PUBLIC_HOST, '_auth_sidecar')}`;
  }
  credentials.sessionForged = '_auth_sidecar=forged.value.of.a.ticket';
}, 60_000);
afterAll(() => stack?.close());

// Rows name their credential; its value exists only once beforeAll has made it.
const CREDENTIAL = '\0credential:';
const auth = (name: string) => ({ authorization: CREDENTIAL + name });
const cookie = (name: string) => ({ cookie: CREDENTIAL + name });

function headersOf(row: Pick<Row, 'headers'>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(row.headers ?? {}).map(([name, value]) => [
      name,
      value.startsWith(CREDENTIAL) ? (credentials[value.slice(CREDENTIAL.length)] as string) : value,
    ]),
  );
}

const ROWS: Row[] = [
  { name: 'public route, no credentials', path: '/static/app.js?v=1', verdict: 'public' },
  { name: 'public route, HEAD', method: 'HEAD', path: '/static/app.js', verdict: 'public' },
  { name: 'public route, a method it does not list', method: 'POST', path: '/static/x', verdict: 'unauthenticated' },
  { name: 'encoded slash', path: '/static/..%2fadmin', verdict: 'invalid' },
  { name: 'dot segments resolved before the rules', path: '/static/../admin/x', verdict: 'unauthenticated' },
  {
    name: 'encoded letters decoded before the rules',
    path: '/%61dmin/x',
    headers: auth('jwtUser'),
    verdict: 'forbidden',
  },
  { name: 'a dot segment behind a path parameter', path: '/static/..;/admin', verdict: 'invalid' },
  { name: 'no credentials, API', path: '/admin/x', headers: API, verdict: 'unauthenticated' },
  { name: 'no credentials, browser', path: '/admin/x?tab=1', headers: BROWSER, verdict: 'login' },
  {
    name: 'no credentials, browser POST',
    method: 'POST',
    path: '/admin/x',
    headers: BROWSER,
    verdict: 'unauthenticated',
  },
  {
    name: 'jwt allowed',
    method: 'DELETE',
    path: '/admin/x',
    headers: auth('jwtAdmin'),
    verdict: 'allowed',
    user: 'alice',
  },
  { name: 'jwt forbidden', path: '/admin/x', headers: auth('jwtUser'), verdict: 'forbidden' },
  { name: 'jwt expired', path: '/admin/x', headers: auth('jwtExpired'), verdict: 'unauthenticated' },
  {
    name: 'jwt tampered, browser',
    path: '/admin/x',
    headers: { ...BROWSER, ...auth('jwtTampered') },
    verdict: 'unauthenticated',
  },
  { name: 'jwt with the scope', path: '/api/r', headers: auth('jwtAdmin'), verdict: 'allowed', user: 'alice' },
  { name: 'jwt without the scope', path: '/api/r', headers: auth('jwtUser'), verdict: 'forbidden' },
  {
    name: 'malformed bearer',
    path: '/api/r',
    headers: { authorization: 'Bearer not-a-jwt' },
    verdict: 'unauthenticated',
  },
  { name: 'unknown scheme', path: '/api/r', headers: { authorization: 'Negotiate abc' }, verdict: 'unauthenticated' },
  { name: 'basic allowed', path: '/admin/x', headers: auth('basicRoot'), verdict: 'allowed', user: 'root' },
  { name: 'basic forbidden', path: '/admin/x', headers: auth('basicCarol'), verdict: 'forbidden' },
  { name: 'basic without scopes', path: '/api/r', headers: auth('basicRoot'), verdict: 'forbidden' },
  { name: 'basic wrong password', path: '/admin/x', headers: auth('basicWrong'), verdict: 'unauthenticated' },
  { name: 'basic locked out', path: '/admin/x', headers: auth('basicLocked'), verdict: 'throttled' },
  { name: 'session allowed', path: '/admin/x', headers: cookie('session_alice'), verdict: 'allowed', user: 'alice' },
  { name: 'session forbidden', path: '/admin/x', headers: cookie('session_bob'), verdict: 'forbidden' },
  {
    name: 'session on a session-only route',
    path: '/app/',
    headers: cookie('session_bob'),
    verdict: 'allowed',
    user: 'bob',
  },
  { name: 'session-only route, API', path: '/app/home', headers: API, verdict: 'unauthenticated' },
  { name: 'session-only route, browser', path: '/app/home', headers: BROWSER, verdict: 'login' },
  { name: 'session-only route, bearer', path: '/app/home', headers: auth('jwtAdmin'), verdict: 'unauthenticated' },
  { name: 'forged session, API', path: '/admin/x', headers: cookie('sessionForged'), verdict: 'unauthenticated' },
  {
    name: 'forged session, browser',
    path: '/admin/x',
    headers: { ...BROWSER, ...cookie('sessionForged') },
    verdict: 'login',
  },
  {
    name: 'CORS preflight on a route that lets them pass',
    method: 'OPTIONS',
    path: '/cors/x',
    headers: { origin: 'https://web.example', 'access-control-request-method': 'POST' },
    verdict: 'public',
  },
  { name: 'OPTIONS that is no preflight', method: 'OPTIONS', path: '/cors/x', verdict: 'unauthenticated' },
  // allow.claims and allow.sourceCidrs; the client is the X-Forwarded-For entry of this trusted peer.
  {
    name: 'claims hold, from inside',
    path: '/internal/x',
    headers: { ...INSIDE, ...auth('jwtOps') },
    verdict: 'allowed',
    user: 'olga',
  },
  {
    name: 'claims: an array claim with a listed element',
    path: '/internal/x',
    headers: { ...INSIDE, ...auth('jwtEngArray') },
    verdict: 'allowed',
    user: 'erik',
  },
  {
    name: 'claims: compared case-sensitively',
    path: '/internal/x',
    headers: { ...INSIDE, ...auth('jwtEngCase') },
    verdict: 'forbidden',
  },
  {
    name: 'claims: a nested claim without the value',
    path: '/internal/x',
    headers: { ...INSIDE, ...auth('jwtNoRoles') },
    verdict: 'forbidden',
  },
  {
    name: 'claims: a dotted name that is itself a claim',
    path: '/internal/x',
    headers: { ...INSIDE, ...auth('jwtRolesFlat') },
    verdict: 'allowed',
    user: 'flo',
  },
  {
    name: 'claims: basic credentials carry none',
    path: '/internal/x',
    headers: { ...INSIDE, ...auth('basicRoot') },
    verdict: 'forbidden',
  },
  {
    name: 'claims hold, from outside',
    path: '/internal/x',
    headers: { ...OUTSIDE, ...auth('jwtOps') },
    verdict: 'forbidden',
  },
  {
    name: 'from outside, no credentials: no challenge',
    path: '/internal/x',
    headers: { ...OUTSIDE, ...API },
    verdict: 'forbidden',
  },
  {
    name: 'from outside, browser: no login',
    path: '/internal/x',
    headers: { ...OUTSIDE, ...BROWSER },
    verdict: 'forbidden',
  },
  {
    name: 'from inside, no credentials',
    path: '/internal/x',
    headers: { ...INSIDE, ...API },
    verdict: 'unauthenticated',
  },
  {
    name: 'public to listed addresses, inside',
    path: '/scrape/metrics',
    headers: { 'x-forwarded-for': '10.42.7.1' },
    verdict: 'public',
  },
  { name: 'public to listed addresses, outside', path: '/scrape/metrics', headers: INSIDE, verdict: 'forbidden' },
  { name: 'public to listed addresses, the proxy itself', path: '/scrape/metrics', verdict: 'forbidden' },
  // skipAuthPreflight: every route that does not say `preflight: deny`, and the default rule.
  {
    name: 'skipAuthPreflight: a preflight passes',
    method: 'OPTIONS',
    path: '/admin/x',
    headers: PREFLIGHT,
    verdict: 'public',
  },
  {
    name: 'skipAuthPreflight: the default rule too',
    method: 'OPTIONS',
    path: '/other',
    headers: PREFLIGHT,
    verdict: 'public',
  },
  {
    name: 'skipAuthPreflight: an OPTIONS without Origin',
    method: 'OPTIONS',
    path: '/admin/x',
    headers: { 'access-control-request-method': 'POST' },
    verdict: 'unauthenticated',
  },
  {
    name: 'skipAuthPreflight: not on a route with preflight: deny',
    method: 'OPTIONS',
    path: '/no-preflight/x',
    headers: PREFLIGHT,
    verdict: 'unauthenticated',
  },
  {
    name: 'skipAuthPreflight: sourceCidrs still applies, outside',
    method: 'OPTIONS',
    path: '/internal/x',
    headers: { ...PREFLIGHT, ...OUTSIDE },
    verdict: 'forbidden',
  },
  {
    name: 'skipAuthPreflight: sourceCidrs still applies, inside',
    method: 'OPTIONS',
    path: '/internal/x',
    headers: { ...PREFLIGHT, ...INSIDE },
    verdict: 'public',
  },
];

async function proxied(row: Pick<Row, 'method' | 'path' | 'headers'>): Promise<Answer> {
  const response = await fetch(`${stack.sidecar.url}${row.path}`, {
    method: row.method ?? 'GET',
    headers: headersOf(row),
    redirect: 'manual',
  });
  const ok = response.status === 200 && row.method !== 'HEAD' && row.method !== 'OPTIONS';
  const user = ok ? (await echoOf(response)).headers['x-forwarded-user']?.join(',') : undefined;
  if (!ok) await response.arrayBuffer();
  return {
    status: response.status,
    challenges: challengesOf(response.headers),
    login: response.headers.get('location'),
    user: typeof user === 'string' ? user : null,
  };
}

async function forwardAuth(row: Row): Promise<Answer> {
  const response = await fetch(`${stack.sidecar.url}/oauth2/auth`, {
    headers: { ...headersOf(row), 'x-forwarded-uri': row.path, 'x-forwarded-method': row.method ?? 'GET' },
    redirect: 'manual',
  });
  await response.arrayBuffer();
  return {
    status: response.status,
    challenges: challengesOf(response.headers),
    login: response.headers.get('x-auth-request-login'),
    user: response.headers.get('x-auth-request-user'),
  };
}

async function explained(row: Row): Promise<Answer> {
  const result = await explain(stack.sidecar.current(), {
    method: row.method ?? 'GET',
    target: row.path,
    headers: headersOf(row),
  });
  const { headers } = result;
  const challenge = headers['WWW-Authenticate'];
  const location = headers.Location;
  return {
    status: result.status ?? 0,
    challenges: challenge === undefined ? [] : [challenge].flat(),
    login: typeof location === 'string' ? location : null,
    user: result.status === 200 && result.identity ? result.identity.user : null,
  };
}

function challengesOf(headers: Headers): string[] {
  // Each challenge is its own header line; fetch joins lines with ", " so split them back.
  const value = headers.get('www-authenticate');
  return value === null ? [] : value.split(/, (?=(?:Bearer|Basic|Cookie) )/);
}

/** The status each place gives a verdict (forward-auth answers 2xx/401/403/429 only). */
const STATUS: Record<Verdict, { proxied: number; check: number }> = {
  allowed: { proxied: 200, check: 202 },
  public: { proxied: 200, check: 202 },
  login: { proxied: 302, check: 401 },
  unauthenticated: { proxied: 401, check: 401 },
  forbidden: { proxied: 403, check: 403 },
  throttled: { proxied: 429, check: 429 },
  invalid: { proxied: 400, check: 403 },
};

describe('the pipeline, forward-auth and explain give one decision', () => {
  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const [viaProxy, viaCheck, viaExplain] = [await proxied(row), await forwardAuth(row), await explained(row)];
    const expected = STATUS[row.verdict];
    expect(viaProxy.status, 'proxied').toBe(expected.proxied);
    expect(viaCheck.status, 'forward-auth').toBe(expected.check);
    expect(viaExplain.status, 'explain').toBe(expected.proxied);
    // The same challenges everywhere. A login redirect carries none; forward-auth answers a
    // browser's check with a 401, with the challenges the pipeline gives an API client.
    const asApi = row.verdict === 'login' ? await proxied({ ...row, headers: { ...row.headers, ...API } }) : viaProxy;
    expect(viaCheck.challenges, 'forward-auth challenges').toEqual(asApi.challenges);
    expect(viaExplain.challenges, 'explain challenges').toEqual(viaProxy.challenges);
    if (row.verdict === 'unauthenticated') expect(viaProxy.challenges.length).toBeGreaterThan(0);
    // The browser is sent to the same login, with the same rd.
    expect(viaCheck.login, 'forward-auth login').toBe(viaProxy.login);
    expect(viaExplain.login, 'explain login').toBe(viaProxy.login);
    if (row.verdict === 'login') expect(viaProxy.login).toMatch(/^\/oauth2\/start\?rd=/);
    // The same identity for the app, the forward-auth caller and explain.
    const user = row.user ?? null;
    expect(viaProxy.user, 'the app').toBe(user);
    expect(viaCheck.user, 'forward-auth').toBe(user);
    expect(viaExplain.user, 'explain').toBe(user);
  });
});
