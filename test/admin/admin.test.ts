// The admin listener: probes and metrics, never proxied.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { AUDIENCE, createSigningKey, ISSUER, type JwksServer, signToken, startJwksServer } from '../support/keys.ts';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.ts';

let upstream: EchoUpstream;
let jwks: JwksServer;
let sidecar: TestSidecar;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  const key = await createSigningKey('ES256');
  jwks = await startJwksServer([key]);
  sidecar = await startTestSidecar({
    upstream: { url: upstream.url },
    jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri },
    routes: [{ path: '/public/**', auth: 'none' }],
  });
  const token = await signToken(key);
  await fetch(`${sidecar.url}/api/x`, { headers: { authorization: `Bearer ${token}` } });
  await fetch(`${sidecar.url}/api/x`, { headers: { authorization: 'Bearer bad.bad.bad' } });
  await fetch(`${sidecar.url}/public/page`);
});

afterAll(async () => {
  await sidecar?.stop();
  await jwks?.close();
  await upstream?.close();
});

describe('/healthz', () => {
  it('answers 200 while the process runs', async () => {
    const res = await fetch(`${sidecar.adminUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, checks: { process: { ok: true } } });
  });
});

describe('/readyz', () => {
  it('answers 200 with every check when config, store and upstream answer', async () => {
    const res = await fetch(`${sidecar.adminUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ready: true,
      checks: { config: { ok: true }, sessionStore: { ok: true }, upstream: { ok: true } },
    });
  });

  it('answers 503 naming the failed check when the upstream does not answer', async () => {
    const orphan = await startTestSidecar({
      upstream: { url: 'http://127.0.0.1:9' },
      jwt: { audience: 'a', jwksUri: jwks.jwksUri },
    });
    try {
      const res = await fetch(`${orphan.adminUrl}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        ready: false,
        checks: {
          config: { ok: true },
          sessionStore: { ok: true },
          upstream: { ok: false, error: 'connection refused' },
        },
      });
    } finally {
      await orphan.stop();
    }
  });
});

describe('/metrics', () => {
  it('serves the Prometheus text format, every series prefixed auth_sidecar_', async () => {
    const res = await fetch(`${sidecar.adminUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const series = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(series.length).toBeGreaterThan(20);
    for (const line of series) expect(line).toMatch(/^auth_sidecar_/);
  });

  it('counts requests by route, method and status, and auth decisions by method and result', async () => {
    const text = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
    expect(text).toMatch(/auth_sidecar_requests_total\{route="\(default\)",method="GET",status="200"\} 1/);
    expect(text).toMatch(/auth_sidecar_requests_total\{route="\(default\)",method="GET",status="401"\} 1/);
    expect(text).toMatch(/auth_sidecar_requests_total\{route="\/public\/\*\*",method="GET",status="200"\} 1/);
    expect(text).toMatch(/auth_sidecar_auth_decisions_total\{method="jwt",result="allowed"\} 1/);
    expect(text).toMatch(/auth_sidecar_auth_decisions_total\{method="jwt",result="rejected"\} 1/);
    expect(text).toMatch(/auth_sidecar_auth_decisions_total\{method="none",result="public"\} 1/);
  });

  it('has latency histograms, JWKS refreshes, config reloads and Node’s own metrics', async () => {
    const text = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
    expect(text).toMatch(/auth_sidecar_request_duration_seconds_bucket\{le="0\.005",route="\(default\)"\}/);
    expect(text).toMatch(/auth_sidecar_upstream_duration_seconds_count\{status="200"\} 2/);
    expect(text).toMatch(/auth_sidecar_jwks_refreshes_total\{result="success"\} [1-9]/);
    expect(text).toContain('# TYPE auth_sidecar_config_reloads_total counter');
    // Present at 0 before the first reload, so that increase() sees the first rejection.
    expect(text).toContain('auth_sidecar_config_reloads_total{result="rejected"} 0');
    expect(text).toContain('auth_sidecar_config_reloads_total{result="applied"} 0');
    expect(text).toContain('auth_sidecar_process_resident_memory_bytes');
    expect(text).toContain('auth_sidecar_nodejs_eventloop_lag_seconds');
  });
});

describe('the admin listener', () => {
  it('answers 404 to anything else and never reaches the app', async () => {
    const before = upstream.received.length;
    expect((await fetch(`${sidecar.adminUrl}/api/x`)).status).toBe(404);
    expect((await fetch(`${sidecar.adminUrl}/metrics`, { method: 'POST' })).status).toBe(405);
    expect(upstream.received.length).toBe(before);
  });
});
