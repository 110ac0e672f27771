// Every open-redirect payload (559 lines) as rd at start, callback and sign_out of one real
// sidecar with a real provider: the browser only ever lands on a path of publicUrl's origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackUrl, type LoginStack, PUBLIC_URL, startLoginStack } from '../support/login-stack.ts';
import { isSafeLocation, openRedirectPayloads } from '../support/open-redirects.ts';

const payloads = openRedirectPayloads();

/** Runs `task` over `items`, `width` at a time. */
async function eachConcurrently<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

describe('open redirects', () => {
  let stack: LoginStack;
  beforeAll(async () => {
    // Claims in the ID token (no userinfo request per login) and ES256 (cheaper to sign than
    // RS256), to keep 559 logins quick.
    stack = await startLoginStack({
      provider: { claimsInIdToken: true, signingAlg: 'ES256' },
      client: { id_token_signed_response_alg: 'ES256' },
    });
  });
  afterAll(() => stack.close());

  it('has all 559 payloads', () => {
    expect(payloads).toHaveLength(559);
  });

  it('start: every payload goes to the provider, never elsewhere', async () => {
    const browser = stack.browser();
    await eachConcurrently(payloads, 8, async (payload) => {
      const page = await browser.fetch(`${PUBLIC_URL}/oauth2/start?rd=${encodeURIComponent(payload)}`);
      expect(page.status, payload).toBe(302);
      expect(new URL(page.location as string).origin, payload).toBe(stack.provider.issuer);
    });
  });

  it('callback: after a real login, every payload lands on a path of the public origin', async () => {
    const browser = stack.browser();
    // Sign in at the provider once: the logins below then go through without its form (several
    // logins racing on the provider's own form would replace each other's provider session).
    expect((await browser.fetch(await callbackUrl(browser, '/'))).status).toBe(302);
    const landed = new Set<string>();
    await eachConcurrently(payloads, 8, async (payload) => {
      const callback = await browser.fetch(await callbackUrl(browser, payload));
      expect(callback.status, `${payload} ${callback.body}`).toBe(302);
      const location = callback.headers.location as string;
      expect(isSafeLocation(location, PUBLIC_URL), `${JSON.stringify(payload)} → ${location}`).toBe(true);
      landed.add(location);
    });
    // Not everything collapsed to "/": harmless paths were kept (the check is not vacuous).
    expect(landed.size).toBeGreaterThan(10);
  });

  it('sign_out: every payload, as rd and as the provider-returned state, lands on the public origin', async () => {
    const browser = stack.browser();
    await eachConcurrently(payloads, 8, async (payload) => {
      for (const parameter of ['rd', 'state']) {
        const page = await browser.fetch(`${PUBLIC_URL}/oauth2/sign_out?${parameter}=${encodeURIComponent(payload)}`);
        expect(page.status, payload).toBe(302);
        const location = page.headers.location as string;
        expect(isSafeLocation(location, PUBLIC_URL), `${JSON.stringify(payload)} → ${location}`).toBe(true);
      }
    });
  });
});
