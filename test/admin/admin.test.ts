// The admin listener: probes and metrics, never proxied.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsText, metricValue, readiness } from '../support/admin.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { freePort } from '../support/free-port.ts';
import { AUDIENCE, createSigningKey, ISSUER, type JwksServer, signToken, startJwksServer } from '../support/keys.ts';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.ts';
import { eventually } from '../support/wait.ts';

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
    expect(text).toMatch(/auth_sidecar_requests_total\{route="\(default\)",method="GET",status="200"\} 2/);
    expect(text).toMatch(/auth_sidecar_requests_total\{route="\(default\)",method="GET",status="401"\} 1/);
    expect(text).toMatch(/auth_sidecar_requests_total\{route="\/public\/\*\*",method="GET",status="200"\} 1/);
    expect(text).toMatch(/auth_sidecar_auth_decisions_total\{method="jwt",result="allowed"\} 2/);
    expect(text).toMatch(/auth_sidecar_auth_decisions_total\{method="jwt",result="rejected"\} 1/);
    expect(text).toMatch(/auth_sidecar_auth_decisions_total\{method="none",result="public"\} 1/);
  });

  it('has latency histograms, JWKS refreshes, config reloads and Node’s own metrics', async () => {
    const text = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
    expect(text).toMatch(/auth_sidecar_request_duration_seconds_bucket\{le="0\.005",route="\(default\)"\}/);
    expect(text).toMatch(/auth_sidecar_upstream_duration_seconds_count\{status="200"\} 3/);
    expect(text).toMatch(/auth_sidecar_jwks_refreshes_total\{result="success"\} [1-9]/);
    expect(text).toContain('# TYPE auth_sidecar_config_reloads_total counter');
    // Present at 0 before the first reload, so that increase() sees the first rejection.
    expect(text).toContain('auth_sidecar_config_reloads_total{result="rejected"} 0');
    expect(text).toContain('auth_sidecar_config_reloads_total{result="applied"} 0');
    expect(text).toContain('auth_sidecar_process_resident_memory_bytes');
    expect(text).toContain('auth_sidecar_nodejs_eventloop_lag_seconds');
  });
});

describe('/metrics beyond the request path', () => {
  it('names the version and the Node.js it runs on', async () => {
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
    expect(
      await metricValue(
        sidecar.adminUrl,
        `auth_sidecar_build_info{version="${version}",node="${process.versions.node}"}`,
      ),
    ).toBe(1);
  });

  it('has every counter whose label values are known at 0 before anything happened', async () => {
    const text = await metricsText(sidecar.adminUrl);
    for (const series of [
      'auth_sidecar_upstream_errors_total{kind="unavailable"}',
      'auth_sidecar_upstream_errors_total{kind="timeout"}',
      'auth_sidecar_auth_decisions_total{method="basic",result="denied"}',
      'auth_sidecar_oidc_logins_total{result="failed"}',
      'auth_sidecar_oidc_discovery_total{result="failure"}',
      'auth_sidecar_session_refreshes_total{result="refused"}',
      'auth_sidecar_backchannel_logouts_total{result="rejected"}',
      'auth_sidecar_jwks_refreshes_total{result="failure"}',
      'auth_sidecar_basic_hash_checks_total{scheme="bcrypt"}',
      'auth_sidecar_basic_credential_cache_total{result="hit"}',
      'auth_sidecar_basic_lockouts_total{scope="address"}',
      'auth_sidecar_session_store_operations_total{backend="redis",operation="get",result="error"}',
    ]) {
      expect(text, series).toContain(`${series} 0\n`);
    }
  });

  it('counts verified-token cache hits and misses', async () => {
    // beforeAll sent one valid token twice (a miss, then a hit) and a bad one (a miss).
    expect(await metricValue(sidecar.adminUrl, 'auth_sidecar_jwt_token_cache_total{result="miss"}')).toBe(2);
    expect(await metricValue(sidecar.adminUrl, 'auth_sidecar_jwt_token_cache_total{result="hit"}')).toBe(1);
  });

  it('counts and times session store operations per backend, failures included', async () => {
    const down = `redis://127.0.0.1:${await freePort()}/0`;
    const stores = [
      await startTestSidecar({
        upstream: { url: upstream.url },
        jwt: { audience: 'a', jwksUri: jwks.jwksUri },
        session: { store: 'redis', redis: { url: 'redis://127.0.0.1:6379/0', keyPrefix: 'auth-sidecar-metrics:' } },
      }),
      await startTestSidecar({
        upstream: { url: upstream.url },
        jwt: { audience: 'a', jwksUri: jwks.jwksUri },
        session: { store: 'redis', redis: { url: down } },
      }),
    ];
    try {
      const [redis, dead] = stores as [TestSidecar, TestSidecar];
      await eventually(async () => (await readiness(redis.adminUrl)).status === 200, 'Redis to answer');
      expect((await readiness(dead.adminUrl)).status).toBe(503);
      const ping = (result: string) =>
        `auth_sidecar_session_store_operations_total{backend="redis",operation="ping",result="${result}"}`;
      expect(await metricValue(redis.adminUrl, ping('ok'))).toBeGreaterThan(0);
      expect(await metricValue(dead.adminUrl, ping('error'))).toBeGreaterThan(0);
      expect(await metricValue(dead.adminUrl, ping('ok'))).toBe(0);
      const timed = 'auth_sidecar_session_store_operation_duration_seconds_count{backend="redis",operation="ping"}';
      expect(await metricValue(dead.adminUrl, timed)).toBeGreaterThan(0);
      // The memory store of the first sidecar answered the probes of this file.
      const memory = 'auth_sidecar_session_store_operations_total{backend="memory",operation="ping",result="ok"}';
      expect(await metricValue(sidecar.adminUrl, memory)).toBeGreaterThan(0);
    } finally {
      await Promise.all(stores.map((s) => s.stop()));
    }
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
