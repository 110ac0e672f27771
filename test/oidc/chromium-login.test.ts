// One end-to-end login in a real browser: headless Chromium (Debian's package, driven by
// playwright-core) opens the Flask example behind the sidecar, is sent to the OpenID
// Provider's login page, signs in, lands on the page it asked for with the identity the app
// received, then signs out through the provider.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { clientFor, PUBLIC_URL, sidecarConfig } from '../support/login-stack.ts';
import { PASSWORD, startOidcProvider, type TestProvider } from '../support/oidc-provider.ts';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.ts';

const FLASK_APP = new URL('../../examples/flask/app.py', import.meta.url).pathname;

/** The Flask example on a free port; resolves its URL once it listens. */
async function startFlask(): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn('python3', [FLASK_APP], {
    env: { ...process.env, FLASK_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) resolve(match[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`flask exited with ${code}`)));
  });
  return { url, process: child };
}

describe('login in headless Chromium', () => {
  let provider: TestProvider;
  let flask: { url: string; process: ChildProcess };
  let sidecar: TestSidecar;

  beforeAll(async () => {
    provider = await startOidcProvider();
    flask = await startFlask();
    sidecar = await startTestSidecar(sidecarConfig(provider.issuer, flask.url));
    provider.addClient(clientFor(sidecar.url));
  });
  afterAll(async () => {
    await sidecar?.stop();
    flask?.process.kill();
    await provider?.close();
  });

  it('signs in through the provider login page and reaches the Flask app as that user', async () => {
    const context = await launchChromium(sidecar.url);
    try {
      const page = await context.newPage();
      await page.goto(`${PUBLIC_URL}/hello?from=chromium`);
      expect(page.url()).toMatch(new RegExp(`^${provider.issuer}/interaction/`));
      await page.fill('input[name=login]', 'alice');
      await page.fill('input[name=password]', PASSWORD);
      await Promise.all([page.waitForURL(`${PUBLIC_URL}/hello?from=chromium`), page.click('button[type=submit]')]);
      const shown = JSON.parse((await page.textContent('body')) ?? '{}');
      expect(shown).toMatchObject({
        app: 'legacy-flask',
        path: '/hello',
        user: 'alice',
        groups: ['admins', 'staff'],
        identity_headers: {
          'X-Forwarded-User': 'alice',
          'X-Forwarded-Email': 'alice@example.com',
          'X-Forwarded-Groups': 'admins,staff',
        },
      });
      const cookies = await context.cookies(PUBLIC_URL);
      const session = cookies.find((c) => c.name === '_auth_sidecar');
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
      // Not visible to scripts on the page.
      expect(await page.evaluate('document.cookie')).not.toContain('_auth_sidecar');

      // Sign out: the provider asks to confirm, then the browser is back and signed out.
      await page.goto(`${PUBLIC_URL}/oauth2/sign_out?rd=/bye`);
      expect(page.url()).toMatch(new RegExp(`^${provider.issuer}/session/end`));
      await Promise.all([
        page.waitForURL(new RegExp(`^${provider.issuer}/interaction/`)),
        page.click('button[value=yes]'),
      ]);
      expect((await context.cookies(PUBLIC_URL)).find((c) => c.name === '_auth_sidecar')).toBeUndefined();
    } finally {
      await context.close();
    }
  });
});
