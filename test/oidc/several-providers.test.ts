// Two real OpenID Providers behind one sidecar (`oidc` as a list of named entries): the choice
// page, a login at each, a callback answered by the wrong provider (mix-up), an unknown
// provider, sign-out and back-channel logout per provider, a provider that is down, and a
// provider removed from the config. Each refusal is exact, and no session comes out of it.
import { readFileSync, writeFileSync } from 'node:fs';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { formAction, hiddenInputs, type Page, type TestBrowser } from '../support/browser.ts';
import {
  CLIENT_ID,
  callbackUrl,
  choiceLinks,
  loginAt,
  type ProvidersStack,
  PUBLIC_URL,
  startProvidersStack,
} from '../support/login-stack.ts';
import type { TestProvider } from '../support/oidc-provider.ts';
import { eventually } from '../support/wait.ts';

const last = (pages: Page[]) => pages[pages.length - 1] as Page;
const echoOf = (page: Page) => JSON.parse(page.body) as { url: string; headers: Record<string, string[]> };
const JSON_ACCEPT = { accept: 'application/json' };
const hasSession = (page: Page) => page.setCookies.some((c) => /^_auth_sidecar=[^;]/.test(c));
const signedIn = async (browser: TestBrowser) =>
  (await browser.fetch(`${PUBLIC_URL}/still`, { headers: JSON_ACCEPT })).status === 200;

async function userinfo(browser: TestBrowser): Promise<Record<string, unknown>> {
  return JSON.parse((await browser.fetch(`${PUBLIC_URL}/oauth2/userinfo`, { headers: JSON_ACCEPT })).body);
}

describe('several providers', () => {
  let stack: ProvidersStack;
  let corp: TestProvider;
  let partners: TestProvider;
  beforeAll(async () => {
    stack = await startProvidersStack({
      names: ['corp', 'partners'],
      config: { routes: [{ path: '/staff/**', allow: { providers: ['corp'] } }] },
    });
    corp = stack.providers.corp as TestProvider;
    partners = stack.providers.partners as TestProvider;
  });
  afterAll(() => stack.close());

  it('sends a browser to a page that links each provider, keeping rd', async () => {
    const browser = stack.browser();
    const first = await browser.fetch(`${PUBLIC_URL}/reports?year=2024`);
    expect(first.status).toBe(302);
    expect(first.location).toBe(`${PUBLIC_URL}/oauth2/start?rd=${encodeURIComponent('/reports?year=2024')}`);
    const page = await browser.fetch(first.location as string);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.body).not.toMatch(/<script|<style|<link|style=/i);
    const rd = encodeURIComponent('/reports?year=2024');
    expect(choiceLinks(page)).toEqual({
      corp: `${PUBLIC_URL}/oauth2/start?provider=corp&rd=${rd}`,
      partners: `${PUBLIC_URL}/oauth2/start?provider=partners&rd=${rd}`,
    });
    // No login attempt is made until a provider is chosen.
    expect(page.setCookies).toEqual([]);
    // An rd that leads elsewhere is not kept.
    const elsewhere = await browser.fetch(
      `${PUBLIC_URL}/oauth2/start?rd=${encodeURIComponent('https://evil.example/')}`,
    );
    expect(Object.values(choiceLinks(elsewhere))).toEqual([
      `${PUBLIC_URL}/oauth2/start?provider=corp&rd=%2F`,
      `${PUBLIC_URL}/oauth2/start?provider=partners&rd=%2F`,
    ]);
  });

  it('logs in at each provider, with one callback URI, and the session says which provider', async () => {
    for (const [name, provider, user] of [
      ['corp', () => corp, 'alice'],
      ['partners', () => partners, 'bob'],
    ] as const) {
      const browser = stack.browser();
      const start = await browser.fetch(`${PUBLIC_URL}/oauth2/start?provider=${name}&rd=/home`);
      expect(start.status).toBe(302);
      const authorize = new URL(start.location as string);
      expect(authorize.origin).toBe(provider().issuer);
      expect(authorize.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth2/callback`);
      const hops = await loginAt(browser, name, user, '/home');
      expect(last(hops).status).toBe(200);
      expect(echoOf(last(hops)).headers['x-forwarded-user']).toEqual([user]);
      expect(await userinfo(browser)).toMatchObject({ user, authMethod: 'session', provider: name });
    }
  });

  it('limits a route to sessions of the providers it lists', async () => {
    const atCorp = stack.browser();
    await loginAt(atCorp, 'corp', 'bob');
    const atPartners = stack.browser();
    await loginAt(atPartners, 'partners', 'bob');
    expect((await atCorp.fetch(`${PUBLIC_URL}/staff/x`)).status).toBe(200);
    expect((await atPartners.fetch(`${PUBLIC_URL}/staff/x`, { headers: JSON_ACCEPT })).status).toBe(403);
    expect((await atPartners.fetch(`${PUBLIC_URL}/elsewhere`)).status).toBe(200);
  });

  it('refuses a callback answered by the other provider (mix-up): 400, no session, nothing exchanged', async () => {
    const browser = stack.browser();
    const start = await browser.fetch(`${PUBLIC_URL}/oauth2/start?provider=corp&rd=/mixed`);
    const corpState = new URL(start.location as string).searchParams.get('state') as string;
    // A genuine response of the other provider, to a login this browser started there too.
    const genuine = new URL(await callbackUrl(browser, '/other', 'alice', 'partners'));
    expect(genuine.searchParams.get('iss')).toBe(partners.issuer);
    const grants = { corp: corp.grants.authorization_code ?? 0, partners: partners.grants.authorization_code ?? 0 };
    for (const iss of [partners.issuer, undefined]) {
      const forged = new URL(genuine);
      forged.searchParams.set('state', iss === undefined ? await stateOf(browser, 'corp') : corpState);
      if (iss === undefined) forged.searchParams.delete('iss');
      const page = await browser.fetch(forged.href, { headers: JSON_ACCEPT });
      expect(page.status).toBe(400);
      expect(JSON.parse(page.body).error).toBe('login_failed');
      expect(hasSession(page)).toBe(false);
    }
    // Refused before any code exchange: the partners code never reached corp's token endpoint.
    expect(corp.grants.authorization_code ?? 0).toBe(grants.corp);
    expect(
      stack.sidecar.logs.some((l) => l.errorCode === 'login_failed' && l.reason === 'OAUTH_INVALID_RESPONSE'),
    ).toBe(true);
    // The corp attempt is used up; the partners one, untouched, still completes.
    const replay = await browser.fetch(`${PUBLIC_URL}/oauth2/callback?state=${corpState}&code=x`, {
      headers: JSON_ACCEPT,
    });
    expect(JSON.parse(replay.body).error).toBe('login_state_invalid');
    const completed = await browser.fetch(genuine.href);
    expect(completed.status).toBe(302);
    expect(hasSession(completed)).toBe(true);
    expect(partners.grants.authorization_code).toBe(grants.partners + 1);
    expect(await userinfo(browser)).toMatchObject({ provider: 'partners' });
  });

  it('answers 400 unknown_provider to a provider that is not configured, and starts no login', async () => {
    const browser = stack.browser();
    for (const query of ['provider=nope', 'provider=', 'provider=corp&provider=partners', 'provider=CORP']) {
      const page = await browser.fetch(`${PUBLIC_URL}/oauth2/start?${query}&rd=/x`, { headers: JSON_ACCEPT });
      expect(page.status, query).toBe(400);
      expect(JSON.parse(page.body).error).toBe('unknown_provider');
      expect(page.setCookies).toEqual([]);
    }
    const html = await browser.fetch(`${PUBLIC_URL}/oauth2/start?provider=%3Cb%3E`);
    expect(html.status).toBe(400);
    expect(html.body).not.toContain('<b>');
  });

  it('signs out through the provider the session came from', async () => {
    for (const [name, provider] of [
      ['corp', () => corp],
      ['partners', () => partners],
    ] as const) {
      const browser = stack.browser();
      await loginAt(browser, name, 'alice');
      const signOut = await browser.fetch(`${PUBLIC_URL}/oauth2/sign_out?rd=/bye`);
      expect(signOut.status).toBe(302);
      expect(signOut.setCookies).toContainEqual(expect.stringMatching(/^_auth_sidecar=; Path=\/; Max-Age=0;/));
      const endSession = new URL(signOut.location as string);
      expect(`${endSession.origin}${endSession.pathname}`).toBe(`${provider().issuer}/session/end`);
      expect(endSession.searchParams.get('client_id')).toBe(CLIENT_ID);
      expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${PUBLIC_URL}/oauth2/sign_out`);
      expect(endSession.searchParams.get('state')).toBe('/bye');
      expect(await signedIn(browser)).toBe(false);
    }
  });

  it('ends only the sessions of the provider that sends a back-channel logout', async () => {
    // The same user name at both providers: two different people.
    const atCorp = stack.browser();
    await loginAt(atCorp, 'corp', 'alice');
    const atPartners = stack.browser();
    await loginAt(atPartners, 'partners', 'alice');
    const delivered = partners.backchannel.ok;
    // alice signs out at partners directly; partners tells the sidecar.
    const providerPage = last(await atPartners.navigate(`${partners.issuer}/session/end`));
    await atPartners.fetch(formAction(providerPage), {
      method: 'POST',
      form: { ...hiddenInputs(providerPage), logout: 'yes' },
    });
    expect(partners.backchannel.errors).toEqual([]);
    expect(partners.backchannel.ok).toBe(delivered + 1);
    expect(await signedIn(atPartners)).toBe(false);
    expect(await signedIn(atCorp)).toBe(true);
    // A token that claims corp's issuer but carries partners' signature: refused, nothing ends.
    const forged = await logoutToken(corp.issuer, partners, { sub: 'alice' });
    expect((await postLogout(stack, forged)).status).toBe(400);
    expect(await signedIn(atCorp)).toBe(true);
    // An issuer that is no configured provider.
    const stranger = await logoutToken('https://idp.elsewhere.example', corp, { sub: 'alice' });
    const refused = await postLogout(stack, stranger);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body).error).toBe('invalid_logout_token');
    // corp's own token by sub ends corp's alice.
    expect((await postLogout(stack, await logoutToken(corp.issuer, corp, { sub: 'alice' }))).status).toBe(200);
    expect(await signedIn(atCorp)).toBe(false);
  });

  it('ends the sessions of a provider removed from the config, and keeps the others', async () => {
    const atCorp = stack.browser();
    await loginAt(atCorp, 'corp', 'alice');
    const atPartners = stack.browser();
    await loginAt(atPartners, 'partners', 'bob');
    const config = parse(readFileSync(stack.sidecar.configFile, 'utf8')) as { oidc: { name: string }[] };
    config.oidc = config.oidc.filter((entry) => entry.name === 'corp');
    writeFileSync(stack.sidecar.configFile, stringify(config));
    expect(await stack.sidecar.reload()).toBe(true);
    expect(await signedIn(atCorp)).toBe(true);
    const refused = await atPartners.fetch(`${PUBLIC_URL}/still`, { headers: JSON_ACCEPT });
    expect(refused.status).toBe(401);
    expect(refused.setCookies).toContainEqual(expect.stringMatching(/^_auth_sidecar=; /));
    // One provider left: /start goes straight to it, as with a single entry.
    const start = await stack.browser().fetch(`${PUBLIC_URL}/oauth2/start?rd=/x`);
    expect(start.status).toBe(302);
    expect(new URL(start.location as string).origin).toBe(corp.issuer);
  });
});

describe('one provider down', () => {
  let stack: ProvidersStack;
  beforeAll(async () => {
    stack = await startProvidersStack({ names: ['corp', 'partners'], down: ['partners'] });
  });
  afterAll(() => stack.close());

  it('answers 503 for logins at the provider that is down, and logs in at the other', async () => {
    const browser = stack.browser();
    const down = await browser.fetch(`${PUBLIC_URL}/oauth2/start?provider=partners&rd=/x`, { headers: JSON_ACCEPT });
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(JSON.parse(down.body).error).toBe('oidc_provider_unavailable');
    expect(down.setCookies).toEqual([]);
    // The choice still lists both: it asks no provider.
    const choice = await browser.fetch(`${PUBLIC_URL}/oauth2/start?rd=/x`);
    expect(Object.keys(choiceLinks(choice))).toEqual(['corp', 'partners']);
    const hops = await loginAt(browser, 'corp', 'alice', '/works');
    expect(last(hops).status).toBe(200);
    expect(echoOf(last(hops)).url).toBe('/works');
    const failed = stack.sidecar.logs.find((l) => l.msg === 'OpenID Provider discovery failed');
    expect(failed).toMatchObject({ level: 'warn' });
    expect(failed?.issuer).not.toBe(stack.providers.corp?.issuer);
  });
});

describe('a provider that goes down after discovery', () => {
  let stack: ProvidersStack;
  beforeAll(async () => {
    stack = await startProvidersStack({ names: ['corp', 'partners'] });
  });
  afterAll(() => stack.close());

  it('answers 503 to its callbacks; its sessions and the other provider go on', async () => {
    const partnersSession = stack.browser();
    await loginAt(partnersSession, 'partners', 'bob');
    const pending = stack.browser();
    const callback = await callbackUrl(pending, '/later', 'alice', 'partners');
    await stack.providers.partners?.close();
    const page = await pending.fetch(callback, { headers: JSON_ACCEPT });
    expect(page.status).toBe(503);
    expect(JSON.parse(page.body).error).toBe('oidc_provider_unavailable');
    expect(hasSession(page)).toBe(false);
    expect(await signedIn(partnersSession)).toBe(true);
    const hops = await loginAt(stack.browser(), 'corp', 'alice');
    expect(last(hops).status).toBe(200);
  });
});

describe('refresh with several providers', () => {
  let stack: ProvidersStack;
  beforeAll(async () => {
    stack = await startProvidersStack({ names: ['corp', 'partners'], provider: { accessTokenTtl: 1 } });
  });
  afterAll(() => stack.close());

  it('refreshes a session at its own provider only', async () => {
    const corp = stack.providers.corp as TestProvider;
    const partners = stack.providers.partners as TestProvider;
    const browser = stack.browser();
    await loginAt(browser, 'partners', 'bob');
    const before = { corp: corp.grants.refresh_token ?? 0, partners: partners.grants.refresh_token ?? 0 };
    // The refresh is due a quarter of the 1 s token's life before it expires: ask until it happened.
    const answers: boolean[] = [];
    await eventually(async () => {
      answers.push(await signedIn(browser));
      return (partners.grants.refresh_token ?? 0) > before.partners;
    }, 'the session to be refreshed');
    expect(answers.every((ok) => ok)).toBe(true);
    expect(partners.grants.refresh_token).toBe(before.partners + 1);
    expect(corp.grants.refresh_token ?? 0).toBe(before.corp);
    expect(await userinfo(browser)).toMatchObject({ user: 'bob', provider: 'partners' });
  });
});

/** The state of a new login attempt this browser starts at `provider`. */
async function stateOf(browser: TestBrowser, provider: string): Promise<string> {
  const start = await browser.fetch(`${PUBLIC_URL}/oauth2/start?provider=${provider}`);
  return new URL(start.location as string).searchParams.get('state') as string;
}

/** A back-channel logout token claiming `iss`, signed with `signer`'s key. */
async function logoutToken(iss: string, signer: TestProvider, claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss,
    aud: CLIENT_ID,
    iat: now,
    exp: now + 120,
    jti: crypto.randomUUID(),
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: signer.signingKey.kid, typ: 'logout+jwt' })
    .sign(await importJWK(signer.signingKey, 'RS256'));
}

async function postLogout(stack: ProvidersStack, token: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${stack.sidecar.url}/oauth2/backchannel_logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }).toString(),
  });
  return { status: response.status, body: await response.text() };
}
