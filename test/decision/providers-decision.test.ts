// allow.providers through the three places that decide (test/support/decision-table.ts), with
// two real OpenID Providers: a route limited to one provider lets in its sessions only, never
// a session from the other provider (even for the same user name), a bearer token or a basic
// credential; and explain says which provider a session is from.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain, formatExplanation } from '../../src/explain.ts';
import { API, BROWSER, credentialTable, expectOneDecision, placesOf, type Row } from '../support/decision-table.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, signToken } from '../support/keys.ts';
import { loginAt, type ProvidersStack, PUBLIC_HOST, startProvidersStack } from '../support/login-stack.ts';
import { tempDir } from '../support/sidecar.ts';

let stack: ProvidersStack;
const credentials = credentialTable();
const { auth, cookie, headersOf } = credentials;

beforeAll(async () => {
  const dir = tempDir('providers-decision-');
  const key = await createSigningKey('ES256');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
  htpasswd(join(dir, 'htpasswd'), [{ user: 'root', password: 'root-pw' }]);
  stack = await startProvidersStack({
    names: ['corp', 'partners'],
    config: {
      trustedProxies: ['127.0.0.1', '::1'],
      jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: join(dir, 'jwks.json') },
      basic: { htpasswdFile: join(dir, 'htpasswd') },
      routes: [
        { path: '/staff/**', allow: { providers: ['corp'] } },
        { path: '/portal/**', auth: ['session'], allow: { providers: ['partners'], groups: ['staff'] } },
      ],
    },
  });
  credentials.values.jwt = `Bearer ${await signToken(key, { sub: 'alice' })}`;
  credentials.values.basic = basicAuth('root', 'root-pw');
  for (const [provider, user] of [
    ['corp', 'alice'],
    ['partners', 'bob'],
    ['partners', 'alice'],
  ] as const) {
    const browser = stack.browser();
    await loginAt(browser, provider, user);
    credentials.values[`${user}@${provider}`] = `_auth_sidecar=${browser.cookie(PUBLIC_HOST, '_auth_sidecar')}`;
  }
}, 60_000);
afterAll(() => stack?.close());

const ROWS: Row[] = [
  {
    name: 'corp session, corp route',
    path: '/staff/x',
    headers: cookie('alice@corp'),
    verdict: 'allowed',
    user: 'alice',
  },
  { name: 'partners session, corp route', path: '/staff/x', headers: cookie('bob@partners'), verdict: 'forbidden' },
  {
    name: 'the same user name from the other provider, corp route',
    path: '/staff/x',
    headers: cookie('alice@partners'),
    verdict: 'forbidden',
  },
  { name: 'bearer token, corp route', path: '/staff/x', headers: auth('jwt'), verdict: 'forbidden' },
  { name: 'basic credential, corp route', path: '/staff/x', headers: auth('basic'), verdict: 'forbidden' },
  { name: 'no credentials, browser, corp route', path: '/staff/x?y=1', headers: BROWSER, verdict: 'login' },
  { name: 'no credentials, API, corp route', path: '/staff/x', headers: API, verdict: 'unauthenticated' },
  {
    name: 'partners session in the group, partners route',
    path: '/portal/',
    headers: cookie('bob@partners'),
    verdict: 'allowed',
    user: 'bob',
  },
  { name: 'corp session, partners route', path: '/portal/', headers: cookie('alice@corp'), verdict: 'forbidden' },
  { name: 'bearer token, session-only route', path: '/portal/', headers: auth('jwt'), verdict: 'unauthenticated' },
  {
    name: 'partners session, a route without allow.providers',
    path: '/elsewhere',
    headers: cookie('bob@partners'),
    verdict: 'allowed',
    user: 'bob',
  },
  {
    name: 'corp session, a route without allow.providers',
    path: '/elsewhere',
    headers: cookie('alice@corp'),
    verdict: 'allowed',
    user: 'alice',
  },
];

describe('allow.providers: the pipeline, forward-auth and explain give one decision', () => {
  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await expectOneDecision(placesOf(stack.sidecar, headersOf), row);
  });
});

describe('explain and allow.providers', () => {
  it('names the provider of a session, and the rule that refused it', async () => {
    const result = await explain(stack.sidecar.current(), {
      method: 'GET',
      target: '/staff/x',
      headers: headersOf({ headers: cookie('bob@partners') }),
    });
    const text = formatExplanation(result);
    expect(text).toContain('  allow:   providers corp\n');
    expect(text).toContain('identity: bob (session from partners), email bob@example.com');
    expect(text).toContain('decision: 403 refused (forbidden): provider "partners" is not listed');
  });

  it('takes claims as a session of the provider whose issuer is their iss', async () => {
    const runtime = stack.sidecar.current();
    const asSession = (iss: string) =>
      explain(runtime, {
        method: 'GET',
        target: '/staff/x',
        headers: {},
        claims: { sub: 'carol', iss },
        claimsVia: 'session',
      });
    const corp = await asSession(stack.providers.corp?.issuer as string);
    expect(corp.status).toBe(200);
    expect(corp.identity?.provider).toBe('corp');
    const partners = await asSession(stack.providers.partners?.issuer as string);
    expect(partners.status).toBe(403);
    expect(partners.decision).toBe('refused (forbidden): provider "partners" is not listed');
    const neither = await asSession('https://idp.elsewhere.example');
    expect(neither.status).toBe(401);
    expect(neither.identityNote).toBe('the claims name no oidc provider: give one provider’s issuer as "iss"');
  });
});
