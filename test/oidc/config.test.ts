// Config rules of the browser login that only show across keys.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli, serveCli } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { tempDir } from '../support/sidecar.ts';

const SECRET = 'a cookie secret of at least 32 bytes';
// Nothing listens here: neither check-config nor start-up may depend on the provider.
const ISSUER = `http://127.0.0.1:${await freePort()}`;
const BASE = {
  upstream: { url: 'http://127.0.0.1:5000' },
  publicUrl: 'http://app.test',
  oidc: { issuer: ISSUER, clientId: 'legacy-app' },
};

function configFile(config: Record<string, unknown>): string {
  const file = join(tempDir(), 'config.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

describe('oidc config', () => {
  it('refuses SameSite=None without a Secure cookie (browsers would drop it: a login loop)', async () => {
    const refused = await runCli([
      'check-config',
      '--config',
      configFile({ ...BASE, session: { cookie: { secret: SECRET, sameSite: 'none' } } }),
    ]);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain(
      'config: session.cookie.sameSite: "none" needs a Secure cookie: an https publicUrl, or session.cookie.secure: true',
    );
    for (const ok of [
      { ...BASE, session: { cookie: { secret: SECRET, sameSite: 'none', secure: true } } },
      { ...BASE, publicUrl: 'https://app.test', session: { cookie: { secret: SECRET, sameSite: 'none' } } },
    ]) {
      expect((await runCli(['check-config', '--config', configFile(ok)])).code).toBe(0);
    }
  });

  it('refuses a __Host- or __Secure- cookie name without a Secure cookie (browsers would drop it)', async () => {
    for (const name of ['__Host-session', '__secure-session']) {
      const refused = await runCli([
        'check-config',
        '--config',
        configFile({ ...BASE, session: { cookie: { secret: SECRET, name } } }),
      ]);
      expect(refused.code).toBe(78);
      expect(refused.stderr).toContain(
        `config: session.cookie.name: a "${name.slice(0, name.indexOf('-') + 1)}" cookie must be Secure: an https publicUrl, or session.cookie.secure: true`,
      );
    }
    for (const ok of [
      { ...BASE, session: { cookie: { secret: SECRET, name: '__Host-session', secure: true } } },
      { ...BASE, publicUrl: 'https://app.test', session: { cookie: { secret: SECRET, name: '__Secure-session' } } },
    ]) {
      expect((await runCli(['check-config', '--config', configFile(ok)])).code).toBe(0);
    }
  });

  it('refuses an issuer on a port that fetch never connects to, before any attempt', async () => {
    const refused = await runCli([
      'check-config',
      '--config',
      configFile({ ...BASE, oidc: { issuer: 'http://127.0.0.1:4190', clientId: 'legacy-app' } }),
    ]);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain(
      'config: oidc.issuer: port 4190 is one that fetch refuses to connect to (a "bad port" of the Fetch standard); use another port',
    );
  });

  it('starts without the provider, and says in the log which URL failed and why', async () => {
    const sidecar = await serveCli({ ...BASE, session: { cookie: { secret: SECRET } } });
    try {
      const line = await sidecar.waitForLine((l) => l.msg === 'OpenID Provider discovery failed');
      expect(line).toMatchObject({
        level: 'warn',
        issuer: ISSUER,
        url: `${ISSUER}/.well-known/openid-configuration`,
        reason: expect.stringMatching(/^fetch failed: .*ECONNREFUSED/),
      });
      const response = await fetch(`${sidecar.url}/oauth2/start`);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(((await response.json()) as { error: string }).error).toBe('oidc_provider_unavailable');
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
  });
});
