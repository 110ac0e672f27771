// An OpenID Provider that cannot be reached: the sidecar says which URL failed and why, shows
// it as a failing `oidc` check in /readyz without taking the pod out of the Service (bearer
// and basic still work), counts it, and finds the provider by itself when it answers again.
import { afterAll, describe, expect, it } from 'vitest';
import { metricValue, readiness } from '../support/admin.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { freePort } from '../support/free-port.ts';
import { clientFor, PUBLIC_URL, sidecarConfig } from '../support/login-stack.ts';
import { startOidcProvider, type TestProvider } from '../support/oidc-provider.ts';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.ts';
import { eventually } from '../support/wait.ts';

let upstream: EchoUpstream | undefined;
let sidecar: TestSidecar | undefined;
let provider: TestProvider | undefined;
afterAll(async () => {
  await sidecar?.stop();
  await provider?.close();
  await upstream?.close();
});

describe('OpenID Provider discovery', () => {
  it('reports an unreachable provider in /readyz and the log, stays ready, and recovers', async () => {
    upstream = await startEchoUpstream();
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const discoveryUrl = `${issuer}/.well-known/openid-configuration`;
    sidecar = await startTestSidecar(sidecarConfig(issuer, upstream.url));
    const adminUrl = sidecar.adminUrl;

    await eventually(
      async () => (await readiness(adminUrl)).body.checks.oidc?.error !== 'discovery has not finished yet',
      'the first discovery to fail',
    );
    const down = await readiness(adminUrl);
    expect(down.status).toBe(200);
    expect(down.body.ready).toBe(true);
    expect(down.body.checks.oidc).toEqual({
      ok: false,
      error: expect.stringMatching(new RegExp(`^${discoveryUrl}: fetch failed: .*ECONNREFUSED`)),
    });
    expect(sidecar.logs.find((l) => l.msg === 'OpenID Provider discovery failed')).toMatchObject({
      url: discoveryUrl,
      reason: expect.stringContaining('ECONNREFUSED'),
    });
    expect(await metricValue(adminUrl, 'auth_sidecar_oidc_discovery_total{result="failure"}')).toBeGreaterThan(0);
    expect(await metricValue(adminUrl, 'auth_sidecar_oidc_discovery_total{result="success"}')).toBe(0);

    // The provider comes up where the issuer points; probes alone bring the check back.
    provider = await startOidcProvider({ port });
    provider.addClient(clientFor(sidecar.url));
    await eventually(async () => (await readiness(adminUrl)).body.checks.oidc?.ok === true, 'the oidc check to pass', {
      timeoutMs: 15_000,
    });
    expect(await metricValue(adminUrl, 'auth_sidecar_oidc_discovery_total{result="success"}')).toBe(1);
    const start = await fetch(`${sidecar.url}/oauth2/start?rd=/`, {
      redirect: 'manual',
      headers: { host: new URL(PUBLIC_URL).host },
    });
    expect(start.status).toBe(302);
    expect(start.headers.get('location')).toMatch(new RegExp(`^${issuer}/`));
  });
});
