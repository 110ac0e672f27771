// Headless Chromium (Debian's package, driven by playwright-core) for end-to-end logins, with
// app.test (the login stacks' publicUrl) mapped to the sidecar's port on this machine.
import { type BrowserContext, chromium } from 'playwright-core';
import { tempDir } from './sidecar.ts';

export function launchChromium(sidecarUrl: string): Promise<BrowserContext> {
  const port = new URL(sidecarUrl).port;
  return chromium.launchPersistentContext(tempDir('auth-sidecar-chromium-'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // app.test (the publicUrl) is the sidecar's port on this machine.
      `--host-resolver-rules=MAP app.test 127.0.0.1:${port}`,
    ],
  });
}
