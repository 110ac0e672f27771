// Several providers in a real browser: headless Chromium opens a page behind the sidecar, gets
// the provider choice page, picks a provider, signs in on that provider's page, reaches the
// app as that user of that provider, then signs out through that provider and is back at the
// choice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { type ProvidersStack, PUBLIC_URL, startProvidersStack } from '../support/login-stack.ts';
import { PASSWORD } from '../support/oidc-provider.ts';

describe('choosing a provider in headless Chromium', () => {
  let stack: ProvidersStack;
  beforeAll(async () => {
    stack = await startProvidersStack({ names: ['corp', 'partners'] });
  });
  afterAll(() => stack?.close());

  it('chooses a provider on the page, signs in there, and signs out through it', async () => {
    const corp = stack.providers.corp?.issuer as string;
    const partners = stack.providers.partners?.issuer as string;
    const context = await launchChromium(stack.sidecar.url);
    try {
      const page = await context.newPage();
      await page.goto(`${PUBLIC_URL}/hello?from=chromium`);
      expect(page.url()).toBe(`${PUBLIC_URL}/oauth2/start?rd=${encodeURIComponent('/hello?from=chromium')}`);
      expect(await page.textContent('h1')).toBe('Sign in');
      expect(await page.locator('a').allTextContents()).toEqual(['corp', 'partners']);
      expect(await page.evaluate('document.scripts.length + document.styleSheets.length')).toBe(0);

      await Promise.all([page.waitForURL(new RegExp(`^${partners}/interaction/`)), page.click('text=partners')]);
      await page.fill('input[name=login]', 'bob');
      await page.fill('input[name=password]', PASSWORD);
      await Promise.all([page.waitForURL(`${PUBLIC_URL}/hello?from=chromium`), page.click('button[type=submit]')]);
      const echo = JSON.parse((await page.textContent('body')) ?? '{}');
      expect(echo.headers['x-forwarded-user']).toEqual(['bob']);
      await page.goto(`${PUBLIC_URL}/oauth2/userinfo`);
      expect(JSON.parse((await page.textContent('body')) ?? '{}')).toMatchObject({ user: 'bob', provider: 'partners' });

      // Sign out: partners (not corp) asks to confirm, then the browser is back at the choice.
      await page.goto(`${PUBLIC_URL}/oauth2/sign_out?rd=/bye`);
      expect(page.url()).toMatch(new RegExp(`^${partners}/session/end`));
      await Promise.all([
        page.waitForURL(`${PUBLIC_URL}/oauth2/start?rd=${encodeURIComponent('/bye')}`),
        page.click('button[value=yes]'),
      ]);
      expect((await context.cookies(PUBLIC_URL)).find((c) => c.name === '_auth_sidecar')).toBeUndefined();
      // The other provider is one click away.
      await Promise.all([page.waitForURL(new RegExp(`^${corp}/interaction/`)), page.click('text=corp')]);
    } finally {
      await context.close();
    }
  });
});
