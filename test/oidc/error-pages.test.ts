// The pages a person meets when the sidecar answers instead of the app: what happened in plain
// words, the request id to quote, and the links that lead on; the same words as JSON for API
// clients. Real provider, real login, real sidecar.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formAction, hiddenInputs, type Page } from '../support/browser.ts';
import { freePort } from '../support/free-port.ts';
import { type LoginStack, login, PUBLIC_URL, startLoginStack } from '../support/login-stack.ts';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.ts';

interface Described {
  readonly title: string;
  readonly explanation: string;
  readonly links: { text: string; href: string }[];
}

/** The links of a page, text → href, as a browser reads them. */
function links(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [, href = '', text = ''] of body.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)) {
    out[text] = href.replaceAll('&#38;', '&');
  }
  return out;
}

function expectSafePage(page: Page): void {
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  expect(page.headers['content-security-policy']).toBe("default-src 'none'");
  expect(page.headers['x-content-type-options']).toBe('nosniff');
  expect(page.body).not.toMatch(/<script|<style|\son\w+=/i);
  expect(page.body).toContain(`<code>${page.headers['x-request-id']}</code>`);
}

describe('error pages', () => {
  let stack: LoginStack;

  beforeAll(async () => {
    stack = await startLoginStack({
      config: {
        routes: [
          { path: '/admin/**', auth: ['session'], allow: { groups: ['root'] } },
          { path: '/api/**', auth: ['session'] },
        ],
      },
    });
  });
  afterAll(() => stack.close());

  it('403 to a signed-in user: says who they are signed in as, and offers sign in as someone else and sign out', async () => {
    const browser = stack.browser();
    await login(browser, 'bob', '/');
    const page = await browser.fetch(`${PUBLIC_URL}/admin/users?page=2`);
    expect(page.status).toBe(403);
    expectSafePage(page);
    expect(page.body).toContain('<h1>Not allowed</h1>');
    expect(page.body).toMatch(/You are signed in as [^,]+, but this page is not open to you/);
    const found = links(page.body);
    expect(found['Sign out']).toBe('/oauth2/sign_out');
    const someoneElse = found['Sign in as someone else'] as string;
    expect(new URL(someoneElse, PUBLIC_URL).searchParams.get('rd')).toBe(
      `/oauth2/start?rd=${encodeURIComponent('/admin/users?page=2')}`,
    );

    // The link does what it says: the session ends (here and, once confirmed, at the provider),
    // and the next stop is a fresh login that comes back to the page.
    const toProvider = await browser.navigate(`${PUBLIC_URL}${someoneElse}`);
    const confirm = toProvider[toProvider.length - 1] as Page;
    const posted = await browser.fetch(formAction(confirm), {
      method: 'POST',
      form: { ...hiddenInputs(confirm), logout: 'yes' },
    });
    const hops = await browser.navigate(posted.location as string);
    const start = hops.find((hop) => hop.url.startsWith(`${PUBLIC_URL}/oauth2/start`));
    expect(start?.url).toBe(`${PUBLIC_URL}/oauth2/start?rd=${encodeURIComponent('/admin/users?page=2')}`);
    expect(hops[hops.length - 1]?.body).toContain('name="login"');
    expect((await browser.fetch(`${PUBLIC_URL}/admin/users`)).status).toBe(302);
  });

  it('the same words as JSON for an API client, with the request id of the answer', async () => {
    const browser = stack.browser();
    await login(browser, 'bob', '/');
    const page = await browser.fetch(`${PUBLIC_URL}/admin/users`, { headers: { accept: 'application/json' } });
    expect(page.status).toBe(403);
    const body = JSON.parse(page.body) as Described & { error: string; requestId: string };
    expect(body.error).toBe('forbidden');
    expect(body.requestId).toBe(page.headers['x-request-id']);
    expect(body.title).toBe('Not allowed');
    expect(body.explanation).toMatch(/You are signed in as [^,]+, but this page is not open to you/);
    expect(body.links.map((l) => l.text)).toEqual(['Sign in as someone else', 'Sign out']);
  });

  it('401 to an API call: what is missing, and where to sign in', async () => {
    const response = await request(`${stack.sidecar.url}/api/items`, {
      headers: { host: 'app.test', accept: 'application/json' },
    });
    expect(response.statusCode).toBe(401);
    const body = (await response.body.json()) as Described & { error: string };
    expect(body.error).toBe('unauthenticated');
    expect(body.title).toBe('Sign-in required');
    expect(body.links).toEqual([{ text: 'Sign in', href: `/oauth2/start?rd=${encodeURIComponent('/api/items')}` }]);
  });

  it('400 on a stale callback: says the link was used or expired, and starts the sign-in again', async () => {
    const page = await stack.browser().fetch(`${PUBLIC_URL}/oauth2/callback?code=abc&state=old`);
    expect(page.status).toBe(400);
    expectSafePage(page);
    expect(page.body).toContain('<h1>This sign-in cannot be completed</h1>');
    expect(page.body).toContain('already used, has expired, or was started in another browser');
    expect(links(page.body)['Start the sign-in again']).toBe('/oauth2/start?rd=%2F');
  });
});

describe('error pages when the provider cannot be reached', () => {
  let sidecar: TestSidecar;

  beforeAll(async () => {
    sidecar = await startTestSidecar({
      upstream: { url: `http://127.0.0.1:${await freePort()}` },
      publicUrl: PUBLIC_URL,
      oidc: { issuer: `http://127.0.0.1:${await freePort()}`, clientId: 'legacy-app' },
      session: { cookie: { secret: 'x'.repeat(32) } },
      routes: [{ path: '/public/**', auth: 'none' }],
    });
  });
  afterAll(() => sidecar.stop());

  it('503: names the sign-in service as what is down, and offers to try again', async () => {
    const response = await request(`${sidecar.url}/oauth2/start?rd=%2Freports`, {
      headers: { host: 'app.test', accept: 'text/html' },
    });
    const body = await response.body.text();
    expect(response.statusCode).toBe(503);
    expect(body).toContain('<h1>Temporarily unavailable</h1>');
    expect(body).toContain('The sign-in service is not reachable right now');
    expect(links(body)['Try again']).toBe('/oauth2/start?rd=%2Freports');
  });

  it('502 when the app does not answer: says it is the application, and the retry link keeps the query as text', async () => {
    const response = await request(`${sidecar.url}/public/report?q="><b>bold</b>`, {
      headers: { host: 'app.test', accept: 'text/html' },
    });
    const body = await response.body.text();
    expect(response.statusCode).toBe(502);
    expect(response.headers['content-security-policy']).toBe("default-src 'none'");
    expect(body).toContain('<h1>The application is not answering</h1>');
    expect(body).not.toContain('<b>');
    expect(links(body)['Try again']).toMatch(/^\/public\/report\?q=/);
    expect(body).toContain(`<code>${response.headers['x-request-id']}</code>`);
  });
});
