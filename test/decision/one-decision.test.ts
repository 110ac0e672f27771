// One table of requests through the three places that decide (test/support/decision-table.ts):
// a proxied request, a forward-auth check and `explain`. Each must give the same verdict, the
// same challenges and the same identity, with every kind of credential, for browsers and API
// clients, on encoded paths too, for claim and source-address rules (the client named by
// X-Forwarded-For from this trusted peer) and CORS preflights.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { API, BROWSER, credentialTable, expectOneDecision, placesOf, type Row } from '../support/decision-table.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, signToken } from '../support/keys.ts';
import { type LoginStack, login, PUBLIC_HOST, startLoginStack } from '../support/login-stack.ts';
import { tempDir } from '../support/sidecar.ts';

const INSIDE = { 'x-forwarded-for': '192.0.2.9, 10.1.2.3' };
const OUTSIDE = { 'x-forwarded-for': '10.1.2.3, 192.0.2.9' };
const PREFLIGHT = { origin: 'https://web.example', 'access-control-request-method': 'POST' };

let stack: LoginStack;
const credentials = credentialTable();
const { auth, cookie, headersOf } = credentials;

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
  credentials.values.jwtAdmin = await bearer({ sub: 'alice', groups: ['admins'], scope: 'read' });
  credentials.values.jwtUser = await bearer({ sub: 'bob', groups: ['dev'] });
  credentials.values.jwtExpired = await bearer({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 600 });
  credentials.values.jwtTampered = `${credentials.values.jwtAdmin?.slice(0, -4)}AAAA`;
  const operator = { realm_access: { roles: ['viewer', 'operator'] } };
  credentials.values.jwtOps = await bearer({ sub: 'olga', department: 'ops', ...operator });
  credentials.values.jwtEngArray = await bearer({ sub: 'erik', department: ['sales', 'eng'], ...operator });
  credentials.values.jwtEngCase = await bearer({ sub: 'emil', department: 'Eng', ...operator });
  credentials.values.jwtNoRoles = await bearer({ sub: 'nora', department: 'ops', realm_access: { roles: ['viewer'] } });
  credentials.values.jwtRolesFlat = await bearer({ sub: 'flo', department: 'ops', 'realm_access.roles': ['operator'] });
  credentials.values.basicRoot = basicAuth('root', 'root-pw');
  credentials.values.basicCarol = basicAuth('carol', 'carol-pw');
  credentials.values.basicWrong = basicAuth('dave', 'not-daves');
  credentials.values.basicLocked = basicAuth('mallory', 'mallory-pw');
  // Locks mallory (lockout.maxFailures) before any row runs.
  const { proxied } = placesOf(stack.sidecar, headersOf);
  for (let i = 0; i < 5; i++) await proxied({ path: '/admin/', headers: { authorization: basicAuth('mallory', 'x') } });
  for (const user of ['alice', 'bob'] as const) {
    const browser = stack.browser();
    await login(browser, user);
    credentials.values[`session_${user}`] = `_auth_sidecar=${browser.cookie(PUBLIC_HOST, '_auth_sidecar')}`;
  }
  credentials.values.sessionForged = '_auth_sidecar=forged.value.of.a.ticket';
}, 60_000);
afterAll(() => stack?.close());

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

describe('the pipeline, forward-auth and explain give one decision', () => {
  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await expectOneDecision(placesOf(stack.sidecar, headersOf), row);
  });
});
