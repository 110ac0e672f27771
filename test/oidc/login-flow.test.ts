// The whole browser login against a real OpenID Provider, with real HTTP and cookies: login,
// identity headers, cookies, several tabs at once, userinfo, sign-out through the provider,
// back-channel logout sent by the provider itself, and refresh.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formAction, hiddenInputs, type Page, type TestBrowser } from '../support/browser.ts';
import {
  CLIENT_ID,
  type LoginStack,
  login,
  PUBLIC_HOST,
  PUBLIC_URL,
  startLoginStack,
  submitLogin,
} from '../support/login-stack.ts';
import { elapse } from '../support/wait.ts';

const last = (pages: Page[]) => pages[pages.length - 1] as Page;
const echoOf = (page: Page) => JSON.parse(page.body) as { url: string; headers: Record<string, string[]> };

/** The provider's own sign-out page, confirmed: it ends its session and tells the sidecar. */
async function confirmProviderLogout(browser: TestBrowser, page: Page): Promise<Page[]> {
  const form = { ...hiddenInputs(page), logout: 'yes' };
  const posted = await browser.fetch(formAction(page), { method: 'POST', form });
  return posted.location ? [posted, ...(await browser.navigate(posted.location))] : [posted];
}

describe('browser login', () => {
  let stack: LoginStack;
  beforeAll(async () => {
    stack = await startLoginStack();
  });
  afterAll(() => stack.close());

  it('sends a browser to the provider and back to the page it asked for, with a session', async () => {
    const browser = stack.browser();
    const first = await browser.fetch(`${PUBLIC_URL}/reports?year=2024`);
    expect(first.status).toBe(302);
    expect(first.location).toBe(`${PUBLIC_URL}/oauth2/start?rd=${encodeURIComponent('/reports?year=2024')}`);
    const start = await browser.fetch(first.location as string);
    expect(start.status).toBe(302);
    const authorize = new URL(start.location as string);
    expect(authorize.origin).toBe(stack.provider.issuer);
    expect(authorize.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/oauth2/callback`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const form = last(await browser.navigate(start.location as string));
    const hops = await submitLogin(browser, form, 'alice');
    const callback = hops.find((p) => p.url.startsWith(`${PUBLIC_URL}/oauth2/callback`)) as Page;
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${PUBLIC_URL}/reports?year=2024`);
    const page = last(hops);
    expect(page.status).toBe(200);
    const echo = echoOf(page);
    expect(echo.url).toBe('/reports?year=2024');
    expect(echo.headers['x-forwarded-user']).toEqual(['alice']);
    expect(echo.headers['x-forwarded-email']).toEqual(['alice@example.com']);
    expect(echo.headers['x-forwarded-groups']).toEqual(['admins,staff']);
    expect(echo.headers['x-forwarded-preferred-username']).toEqual(['Alice']);
    expect(echo.headers['x-forwarded-access-token']).toBeUndefined();
  });

  it('logs the login without a code, state, cookie or token, and counts it', async () => {
    const browser = stack.browser();
    const hops = await login(browser, 'bob', '/logged');
    const callback = hops.find((p) => p.url.startsWith(`${PUBLIC_URL}/oauth2/callback`)) as Page;
    const query = new URL(callback.url).searchParams;
    const secrets = [
      query.get('code') as string,
      query.get('state') as string,
      browser.cookie(PUBLIC_HOST, '_auth_sidecar') as string,
    ];
    const text = JSON.stringify(stack.sidecar.logs);
    for (const secret of secrets) expect(text.includes(secret)).toBe(false);
    const line = stack.sidecar.logs.findLast((l) => l.msg === 'request' && l.path === '/logged');
    expect(line).toMatchObject({ status: 200, user: 'bob', authMethod: 'session', upstreamStatus: 200 });
    const metrics = await (await fetch(`${stack.sidecar.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^auth_sidecar_oidc_logins_total\{result="success"\} [1-9]/m);
  });

  it('keeps sessions across a reload that does not touch them', async () => {
    const browser = stack.browser();
    await login(browser, 'alice');
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(stack.sidecar.configFile, `${readFileSync(stack.sidecar.configFile, 'utf8')}logLevel: debug\n`);
    expect(await stack.sidecar.reload()).toBe(true);
    expect((await browser.fetch(`${PUBLIC_URL}/after-reload`)).status).toBe(200);
  });

  it('sets a small HttpOnly, SameSite=Lax session cookie, not Secure on an http publicUrl', async () => {
    const browser = stack.browser();
    const hops = await login(browser, 'bob');
    const callback = hops.find((p) => p.url.startsWith(`${PUBLIC_URL}/oauth2/callback`)) as Page;
    const session = callback.setCookies.find((c) => c.startsWith('_auth_sidecar='));
    expect(session).toMatch(
      /^_auth_sidecar=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; Path=\/; Max-Age=28800; HttpOnly; SameSite=Lax$/,
    );
    expect((session as string).length).toBeLessThan(200);
    expect(callback.headers['cache-control']).toBe('no-store');
  });

  it('keeps the sidecar cookies from the app, and passes the app its own', async () => {
    const browser = stack.browser();
    await login(browser, 'bob');
    browser.setCookie(PUBLIC_HOST, 'theme', 'dark');
    const page = await browser.fetch(`${PUBLIC_URL}/cookies`);
    expect(page.status).toBe(200);
    // a=1 and b=2 are the echo app's own cookies, set on earlier answers.
    expect(echoOf(page).headers.cookie).toEqual(['a=1; b=2; theme=dark']);
  });

  it('answers /oauth2/userinfo for a session', async () => {
    const browser = stack.browser();
    await login(browser, 'alice');
    const page = await browser.fetch(`${PUBLIC_URL}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toEqual({
      user: 'alice',
      email: 'alice@example.com',
      groups: ['admins', 'staff'],
      authMethod: 'session',
    });
  });

  it('lets several tabs log in at once: each attempt has its own state', async () => {
    const browser = stack.browser();
    // Both tabs reach the provider's login form before either finishes.
    const formOne = last(await browser.navigate(`${PUBLIC_URL}/one`));
    const formTwo = last(await browser.navigate(`${PUBLIC_URL}/two`));
    expect(formOne.url).not.toBe(formTwo.url);
    const two = last(await submitLogin(browser, formTwo, 'alice'));
    const one = last(await submitLogin(browser, formOne, 'alice'));
    expect(two.status).toBe(200);
    expect(echoOf(two).url).toBe('/two');
    expect(one.status).toBe(200);
    expect(echoOf(one).url).toBe('/one');
  });

  it('signs out through the provider: session gone, cookie cleared, then back to rd', async () => {
    const browser = stack.browser();
    await login(browser, 'alice');
    const cookie = browser.cookie(PUBLIC_HOST, '_auth_sidecar') as string;
    const signOut = await browser.fetch(`${PUBLIC_URL}/oauth2/sign_out?rd=${encodeURIComponent('/bye?x=1')}`);
    expect(signOut.status).toBe(302);
    expect(signOut.setCookies).toContainEqual(expect.stringMatching(/^_auth_sidecar=; Path=\/; Max-Age=0;/));
    const endSession = new URL(signOut.location as string);
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${stack.provider.issuer}/session/end`);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${PUBLIC_URL}/oauth2/sign_out`);
    expect(endSession.searchParams.get('state')).toBe('/bye?x=1');
    expect(endSession.searchParams.get('client_id')).toBe(CLIENT_ID);
    // The old cookie no longer opens anything, even before the provider is done.
    const replay = await stack.browser().fetch(`${PUBLIC_URL}/`, {
      headers: { accept: 'application/json', cookie: `_auth_sidecar=${cookie}` },
    });
    expect(replay.status).toBe(401);
    const providerPage = last(await browser.navigate(signOut.location as string));
    const back = await confirmProviderLogout(browser, providerPage);
    expect(back.map((p) => p.url)).toContain(`${PUBLIC_URL}/oauth2/sign_out?state=${encodeURIComponent('/bye?x=1')}`);
    const final = back.find((p) => p.url === `${PUBLIC_URL}/bye?x=1`) as Page;
    // Not signed in any more: the app's page sends the browser to the login again.
    expect(final.status).toBe(302);
    expect(final.location).toBe(`${PUBLIC_URL}/oauth2/start?rd=${encodeURIComponent('/bye?x=1')}`);
  });

  it('ends the session when the provider sends a back-channel logout', async () => {
    const browser = stack.browser();
    await login(browser, 'alice');
    const other = stack.browser();
    await login(other, 'bob');
    expect((await browser.fetch(`${PUBLIC_URL}/still`)).status).toBe(200);
    const delivered = stack.provider.backchannel.ok;
    // The user signs out at the provider directly (another app's sign-out button, say).
    const providerPage = last(await browser.navigate(`${stack.provider.issuer}/session/end`));
    await confirmProviderLogout(browser, providerPage);
    expect(stack.provider.backchannel.errors).toEqual([]);
    expect(stack.provider.backchannel.ok).toBe(delivered + 1);
    const after = await browser.fetch(`${PUBLIC_URL}/still`, { headers: { accept: 'application/json' } });
    expect(after.status).toBe(401);
    // Only that provider session ended.
    expect((await other.fetch(`${PUBLIC_URL}/still`)).status).toBe(200);
  });

  it('signs out without a session: clears the cookie and goes to rd', async () => {
    const page = await stack.browser().fetch(`${PUBLIC_URL}/oauth2/sign_out?rd=/later`, { method: 'POST' });
    expect(page.status).toBe(302);
    expect(page.location).toBe(`${PUBLIC_URL}/later`);
    expect(page.setCookies).toContainEqual(expect.stringMatching(/^_auth_sidecar=; /));
  });
});

describe('refresh', () => {
  let stack: LoginStack;
  beforeAll(async () => {
    stack = await startLoginStack({
      provider: { accessTokenTtl: 1 },
      config: { oidc: { passAccessToken: true }, session: { store: 'memory' } },
    });
  });
  afterAll(() => stack.close());

  it('refreshes the access token before it expires, once for many concurrent requests', async () => {
    const browser = stack.browser();
    const first = echoOf(last(await login(browser, 'alice')));
    const firstToken = first.headers['x-forwarded-access-token']?.[0];
    expect(firstToken).toBeDefined();
    const refreshes = stack.provider.grants.refresh_token ?? 0;
    await elapse(900); // refresh is due a quarter of its life (0.25 s) before the 1 s token expires
    const pages = await Promise.all(Array.from({ length: 6 }, () => browser.fetch(`${PUBLIC_URL}/busy`)));
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(stack.provider.grants.refresh_token).toBe(refreshes + 1);
    const tokens = new Set(pages.map((p) => echoOf(p).headers['x-forwarded-access-token']?.[0]));
    expect(tokens.size).toBe(1);
    expect(tokens.has(firstToken)).toBe(false);
    // The rotated refresh token was kept: the next refresh works too.
    await elapse(900);
    const later = await browser.fetch(`${PUBLIC_URL}/later`);
    expect(later.status).toBe(200);
    expect(stack.provider.grants.refresh_token).toBe(refreshes + 2);
  });
});

describe('refresh refused', () => {
  let stack: LoginStack;
  beforeAll(async () => {
    stack = await startLoginStack({ provider: { accessTokenTtl: 1, refreshTokenTtl: 1 } });
  });
  afterAll(() => stack.close());

  it('ends the session when the provider refuses the refresh token', async () => {
    const browser = stack.browser();
    await login(browser, 'alice');
    await elapse(1200); // both tokens have expired
    const page = await browser.fetch(`${PUBLIC_URL}/x`, { headers: { accept: 'application/json' } });
    expect(page.status).toBe(401);
    expect(page.setCookies).toContainEqual(expect.stringMatching(/^_auth_sidecar=; /));
    expect(stack.sidecar.logs.some((l) => l.msg === 'the provider refused a refresh; the session ends')).toBe(true);
  });
});

describe('https publicUrl and claim names', () => {
  let stack: LoginStack;
  const httpsUrl = 'https://app.test';
  beforeAll(async () => {
    stack = await startLoginStack({
      config: { publicUrl: httpsUrl, oidc: { claims: { user: 'preferred_username' } } },
      client: {
        redirect_uris: [`${httpsUrl}/oauth2/callback`],
        post_logout_redirect_uris: [`${httpsUrl}/oauth2/sign_out`],
      },
    });
  });
  afterAll(() => stack.close());

  it('marks the cookies Secure and names the user by the configured claim', async () => {
    const browser = stack.browser();
    const start = await browser.fetch(`${httpsUrl}/oauth2/start?rd=/secure`);
    expect(start.setCookies).toContainEqual(
      expect.stringMatching(
        /^_auth_sidecar_login_[A-Za-z0-9_-]{12}=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/,
      ),
    );
    const form = last(await browser.navigate(start.location as string));
    const hops = await submitLogin(browser, form, 'alice');
    const callback = hops.find((p) => p.url.startsWith(`${httpsUrl}/oauth2/callback`)) as Page;
    expect(callback.setCookies).toContainEqual(
      expect.stringMatching(/^_auth_sidecar=[^;]+; Path=\/; Max-Age=28800; HttpOnly; Secure; SameSite=Lax$/),
    );
    expect(echoOf(last(hops)).headers['x-forwarded-user']).toEqual(['Alice']);
  });

  it('refuses a login whose claims do not name the user (bob has no preferred_username)', async () => {
    const browser = stack.browser();
    const start = await browser.fetch(`${httpsUrl}/oauth2/start`);
    const form = last(await browser.navigate(start.location as string));
    const hops = await submitLogin(browser, form, 'bob');
    const callback = hops.find((p) => p.url.startsWith(`${httpsUrl}/oauth2/callback`)) as Page;
    expect(callback.status).toBe(400);
    expect(callback.setCookies.some((c) => c.startsWith('_auth_sidecar='))).toBe(false);
  });
});
