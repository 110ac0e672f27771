// Named attacks and failures of the browser login, each against the real provider and a real
// sidecar: the answer is exact, and no session comes out of any of them.
import { exportJWK, importJWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, TestBrowser } from '../support/browser.ts';
import { createSigningKey } from '../support/keys.ts';
import {
  CLIENT_ID,
  callbackUrl,
  type LoginStack,
  login,
  PUBLIC_HOST,
  PUBLIC_URL,
  startLoginStack,
  submitLogin,
} from '../support/login-stack.ts';
import { openRaw, parseRawResponse } from '../support/raw-http.ts';
import { elapse } from '../support/wait.ts';

const last = (pages: Page[]) => pages[pages.length - 1] as Page;
const JSON_ACCEPT = { accept: 'application/json' };
const BACKCHANNEL_EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

function hasSession(page: Page): boolean {
  return page.setCookies.some((c) => /^_auth_sidecar=[^;]/.test(c));
}

describe('login negative cases', () => {
  let stack: LoginStack;
  beforeAll(async () => {
    stack = await startLoginStack();
  });
  afterAll(() => stack.close());

  it('missing state: 400 and no session', async () => {
    const browser = stack.browser();
    const url = new URL(await callbackUrl(browser));
    url.searchParams.delete('state');
    const page = await browser.fetch(url.href, { headers: JSON_ACCEPT });
    expect(page.status).toBe(400);
    expect(JSON.parse(page.body).error).toBe('login_state_missing');
    expect(hasSession(page)).toBe(false);
  });

  it('wrong state: 400 and no session', async () => {
    const browser = stack.browser();
    const url = new URL(await callbackUrl(browser));
    url.searchParams.set('state', 'A'.repeat(43));
    const page = await browser.fetch(url.href, { headers: JSON_ACCEPT });
    expect(page.status).toBe(400);
    expect(JSON.parse(page.body).error).toBe('login_state_invalid');
    expect(hasSession(page)).toBe(false);
  });

  it('replayed callback: the first one logs in, the same URL again gets 400', async () => {
    const browser = stack.browser();
    const url = await callbackUrl(browser);
    const first = await browser.fetch(url);
    expect(first.status).toBe(302);
    expect(hasSession(first)).toBe(true);
    const replay = await browser.fetch(url, { headers: JSON_ACCEPT });
    expect(replay.status).toBe(400);
    expect(JSON.parse(replay.body).error).toBe('login_state_invalid');
    expect(hasSession(replay)).toBe(false);
  });

  it('callback in another browser (login CSRF): 400, and the state is used up', async () => {
    const victim = stack.browser();
    const attacker = stack.browser();
    const url = await callbackUrl(attacker);
    const page = await victim.fetch(url, { headers: JSON_ACCEPT });
    expect(page.status).toBe(400);
    expect(JSON.parse(page.body).error).toBe('login_state_mismatch');
    expect(hasSession(page)).toBe(false);
    // A victim who already has a login cookie of its own gets the same answer.
    await victim.fetch(`${PUBLIC_URL}/oauth2/start`);
    const again = await victim.fetch(await callbackUrl(attacker), { headers: JSON_ACCEPT });
    expect(again.status).toBe(400);
    expect(JSON.parse(again.body).error).toBe('login_state_mismatch');
  });

  it('code from another login attempt (PKCE verifier does not match): 400', async () => {
    const browser = stack.browser();
    const one = new URL(await callbackUrl(browser));
    const two = new URL(await callbackUrl(browser));
    two.searchParams.set('code', one.searchParams.get('code') as string);
    const page = await browser.fetch(two.href, { headers: JSON_ACCEPT });
    expect(page.status).toBe(400);
    expect(JSON.parse(page.body).error).toBe('login_failed');
    expect(hasSession(page)).toBe(false);
  });

  it('wrong nonce in the ID token: 400 and no session', async () => {
    const browser = stack.browser();
    const start = await browser.fetch(`${PUBLIC_URL}/oauth2/start?rd=/x`);
    const authorize = new URL(start.location as string);
    authorize.searchParams.set('nonce', 'a-nonce-the-sidecar-never-made');
    const form = last(await browser.navigate(authorize.href));
    const hops = await submitLogin(browser, form, 'alice');
    const callback = hops.find((p) => p.url.startsWith(`${PUBLIC_URL}/oauth2/callback`)) as Page;
    expect(callback.status).toBe(400);
    expect(hasSession(callback)).toBe(false);
    expect(
      stack.sidecar.logs.some(
        (l) => l.errorCode === 'login_failed' && l.reason === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
      ),
    ).toBe(true);
  });

  it('an error from the provider: 400 and no session', async () => {
    const browser = stack.browser();
    const start = await browser.fetch(`${PUBLIC_URL}/oauth2/start`);
    const state = new URL(start.location as string).searchParams.get('state') as string;
    const page = await browser.fetch(
      `${PUBLIC_URL}/oauth2/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(stack.provider.issuer)}`,
      { headers: JSON_ACCEPT },
    );
    expect(page.status).toBe(400);
    expect(JSON.parse(page.body)).toMatchObject({ error: 'provider_error' });
    expect(hasSession(page)).toBe(false);
  });

  it('tampered cookie: refused (401 for an API call, login for a browser) and cleared', async () => {
    const browser = stack.browser();
    await login(browser);
    const cookie = browser.cookie(PUBLIC_HOST, '_auth_sidecar') as string;
    const [id, key, mac] = cookie.split('.') as [string, string, string];
    const flip = (part: string) => (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
    for (const tampered of [`${flip(id)}.${key}.${mac}`, `${id}.${flip(key)}.${mac}`, `${id}.${key}.${flip(mac)}`]) {
      const api = await stack.browser().fetch(`${PUBLIC_URL}/private`, {
        headers: { ...JSON_ACCEPT, cookie: `_auth_sidecar=${tampered}` },
      });
      expect(api.status).toBe(401);
      expect(api.setCookies).toContainEqual(expect.stringMatching(/^_auth_sidecar=; /));
      const page = await stack.browser().fetch(`${PUBLIC_URL}/private`, {
        headers: { cookie: `_auth_sidecar=${tampered}` },
      });
      expect(page.status).toBe(302);
      expect(page.location).toBe(`${PUBLIC_URL}/oauth2/start?rd=%2Fprivate`);
    }
    // The untouched cookie still works.
    expect((await browser.fetch(`${PUBLIC_URL}/private`)).status).toBe(200);
  });

  it('cookie replayed after sign-out: refused', async () => {
    const browser = stack.browser();
    await login(browser);
    const cookie = browser.cookie(PUBLIC_HOST, '_auth_sidecar') as string;
    const signOut = await browser.fetch(`${PUBLIC_URL}/oauth2/sign_out`);
    expect(signOut.status).toBe(302);
    const page = await stack.browser().fetch(`${PUBLIC_URL}/private`, {
      headers: { ...JSON_ACCEPT, cookie: `_auth_sidecar=${cookie}` },
    });
    expect(page.status).toBe(401);
  });
});

describe('claims a header cannot carry exactly (issue 11)', () => {
  let stack: LoginStack;
  let byPreferredName: LoginStack;
  beforeAll(async () => {
    const routes = [{ path: '/admin/**', allow: { groups: ['admins'] } }];
    [stack, byPreferredName] = await Promise.all([
      startLoginStack({ config: { routes } }),
      startLoginStack({ config: { routes, oidc: { claims: { user: 'preferred_username' } } } }),
    ]);
  });
  afterAll(() => Promise.all([stack.close(), byPreferredName.close()]));

  it('a user claim with trailing whitespace: the callback refuses with 400 login_failed and no session', async () => {
    const browser = byPreferredName.browser();
    const page = await browser.fetch(await callbackUrl(browser, '/private', 'carl'), { headers: JSON_ACCEPT });
    expect(page.status).toBe(400);
    expect(JSON.parse(page.body)).toMatchObject({
      error: 'login_failed',
      message: "the provider's answer has a preferred_username claim with leading or trailing whitespace",
    });
    expect(hasSession(page)).toBe(false);
    expect((await browser.fetch(`${PUBLIC_URL}/private`, { headers: JSON_ACCEPT })).status).toBe(401);
  });

  it('groups and email that cannot be sent are left out of the session identity', async () => {
    const browser = stack.browser();
    await login(browser, 'carl');
    const page = await browser.fetch(`${PUBLIC_URL}/x`);
    expect(page.status).toBe(200);
    const headers = JSON.parse(page.body).headers;
    expect(headers['x-forwarded-user']).toEqual(['carl']);
    expect(headers['x-forwarded-groups']).toEqual(['staff']);
    expect(headers['x-forwarded-email']).toBeUndefined();
    expect(headers['x-forwarded-preferred-username']).toBeUndefined();
    expect((await browser.fetch(`${PUBLIC_URL}/admin/x`, { headers: JSON_ACCEPT })).status).toBe(403);
    const info = await browser.fetch(`${PUBLIC_URL}/oauth2/userinfo`, { headers: JSON_ACCEPT });
    expect(JSON.parse(info.body)).toMatchObject({ user: 'carl', email: null, groups: ['staff'] });
  });
});

describe('session expiry', () => {
  let stack: LoginStack;
  beforeAll(async () => {
    stack = await startLoginStack({ config: { session: { ttlSeconds: 2 } } });
  });
  afterAll(() => stack.close());

  it('expired session: refused once session.ttlSeconds have passed', async () => {
    const browser = stack.browser();
    await login(browser);
    expect((await browser.fetch(`${PUBLIC_URL}/private`)).status).toBe(200);
    await elapse(2100);
    const page = await browser.fetch(`${PUBLIC_URL}/private`, { headers: JSON_ACCEPT });
    expect(page.status).toBe(401);
  });
});

describe('back-channel logout negative cases', () => {
  let stack: LoginStack;
  beforeAll(async () => {
    stack = await startLoginStack();
  });
  afterAll(() => stack.close());

  async function logoutToken(claims: JWTPayload, key = stack.provider.signingKey, header = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: stack.provider.issuer,
      aud: CLIENT_ID,
      iat: now,
      exp: now + 120,
      jti: crypto.randomUUID(),
      events: BACKCHANNEL_EVENT,
      sub: 'alice',
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'logout+jwt', ...header })
      .sign(await importJWK(key, 'RS256'));
  }

  async function post(token: string | undefined, contentType = 'application/x-www-form-urlencoded') {
    const body = token === undefined ? '' : new URLSearchParams({ logout_token: token }).toString();
    const response = await fetch(`${stack.sidecar.url}/oauth2/backchannel_logout`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    return {
      status: response.status,
      body: await response.text(),
      cacheControl: response.headers.get('cache-control'),
    };
  }

  async function aliceBrowser(): Promise<TestBrowser> {
    const browser = stack.browser();
    await login(browser, 'alice');
    return browser;
  }

  const stillSignedIn = async (browser: TestBrowser) => (await browser.fetch(`${PUBLIC_URL}/x`)).status === 200;

  it('a logout token with a bad signature: 400, the session stays', async () => {
    const browser = await aliceBrowser();
    const impostor = await createSigningKey('RS256', 'provider-key');
    const forged = await logoutToken({}, { ...(await exportJWK(impostor.privateKey)), kid: 'provider-key' });
    const answer = await post(forged);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error).toBe('invalid_logout_token');
    expect(await stillSignedIn(browser)).toBe(true);
  });

  it('a logout token for another audience: 400, the session stays', async () => {
    const browser = await aliceBrowser();
    const answer = await post(await logoutToken({ aud: 'another-client' }));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error).toBe('invalid_logout_token');
    expect(await stillSignedIn(browser)).toBe(true);
  });

  it('other invalid logout tokens: 400 each, the session stays', async () => {
    const browser = await aliceBrowser();
    const cases = [
      await logoutToken({ iss: 'https://another.example' }),
      await logoutToken({ events: {} }),
      await logoutToken({ nonce: 'n' }),
      await logoutToken({ sub: undefined }),
      await logoutToken({ iat: Math.floor(Date.now() / 1000) - 3600, exp: undefined }),
      await logoutToken({}, stack.provider.signingKey, { typ: 'at+jwt' }),
      'not.a.jwt',
    ];
    for (const token of cases) expect((await post(token)).status).toBe(400);
    expect((await post(undefined)).status).toBe(400);
    expect((await post(await logoutToken({}), 'application/json')).status).toBe(415);
    expect(await stillSignedIn(browser)).toBe(true);
  });

  it('a valid token by sub ends that user’s sessions, once (a replayed jti gets 400)', async () => {
    const alice = await aliceBrowser();
    const bob = stack.browser();
    await login(bob, 'bob');
    const token = await logoutToken({ sub: 'alice' });
    const answer = await post(token);
    expect(answer.status).toBe(200);
    expect(answer.cacheControl).toBe('no-store');
    expect(await stillSignedIn(alice)).toBe(false);
    expect(await stillSignedIn(bob)).toBe(true);
    expect((await post(token)).status).toBe(400);
  });

  it('Expect: 100-continue: 415 without a 100 for another content type; a form gets the 100, then its answer', async () => {
    const head = (type: string) =>
      `POST /oauth2/backchannel_logout HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\n` +
      'Expect: 100-continue\r\nContent-Length: 20\r\nConnection: close\r\n\r\n';
    const json = await openRaw(stack.sidecar.url);
    json.write(head('application/json'));
    const refused = await json.closed;
    expect(refused.split('\r\n')[0]).toBe('HTTP/1.1 415 Unsupported Media Type');
    expect(refused).not.toContain('100 Continue');

    const form = await openRaw(stack.sidecar.url);
    form.write(head('application/x-www-form-urlencoded'));
    expect(await form.until('\r\n\r\n')).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    form.write('logout_token=not.jwt');
    const answer = parseRawResponse((await form.closed).slice('HTTP/1.1 100 Continue\r\n\r\n'.length));
    expect(answer.status).toBe(400);
  });

  it('only POST', async () => {
    const response = await fetch(`${stack.sidecar.url}/oauth2/backchannel_logout`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});
