// SIGTERM drain and config reload (SIGHUP, file change, Kubernetes symlink swap), with the
// sidecar as a real child process.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { serveCli } from '../support/cli.ts';
import { type EchoUpstream, pingOverWebSocket, startEchoUpstream } from '../support/echo-upstream.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, type SigningKey, signToken } from '../support/keys.ts';
import { tempDir } from '../support/sidecar.ts';
import { eventually } from '../support/wait.ts';

let upstream: EchoUpstream;
let key: SigningKey;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  key = await createSigningKey('ES256', 'k1');
});
afterAll(() => upstream?.close());

function baseConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
  return {
    listen: '127.0.0.1:0',
    admin: { listen: '127.0.0.1:0' },
    upstream: { url: upstream.url, timeoutSeconds: 30 },
    jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: 'jwks.json' },
    ...extra,
  };
}

interface Answer {
  readonly status: number;
  readonly connection: string | undefined;
}

/** A GET that resolves with its status and Connection header, or status 0 if the connection failed. */
function answer(url: string, headers: Record<string, string> = {}, agent?: Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const failed = () => resolve({ status: 0, connection: undefined });
    const req = request(url, { headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      res.on('error', failed);
    });
    req.on('error', failed);
    req.end();
  });
}

/** A GET that resolves with its status, or 0 if the connection failed. */
async function get(url: string, headers: Record<string, string> = {}, agent?: Agent): Promise<number> {
  return (await answer(url, headers, agent)).status;
}

const readyStatus = async (adminUrl: string) => (await fetch(`${adminUrl}/readyz`)).status;

async function reloads(adminUrl: string, result: 'applied' | 'rejected'): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return Number(new RegExp(`auth_sidecar_config_reloads_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

/** Resolves once the app has the request (the echo upstream counts arrivals per target). */
function reachedApp(target: string): Promise<void> {
  return eventually(() => upstream.arrived(target) > 0, `${target} to reach the app`);
}

describe('SIGTERM', () => {
  it('turns readiness off, stops accepting, lets in-flight requests finish with Connection: close, exits 0', async () => {
    const dir = tempDir();
    const sidecar = await serveCli(baseConfig(dir), { dir });
    const token = await signToken(key);
    expect(await readyStatus(sidecar.adminUrl)).toBe(200);
    const keepAlive = new Agent({ keepAlive: true });
    const before = await answer(`${sidecar.url}/before`, { authorization: `Bearer ${token}` }, keepAlive);
    expect(before).toEqual({ status: 200, connection: 'keep-alive' });
    const inFlight = answer(
      `${sidecar.url}/slow-headers?ms=1500&t=drain`,
      { authorization: `Bearer ${token}` },
      keepAlive,
    );
    await reachedApp('/slow-headers?ms=1500&t=drain');
    sidecar.kill('SIGTERM');
    await sidecar.waitForLine((l) => l.msg === 'draining');
    expect(await readyStatus(sidecar.adminUrl)).toBe(503);
    const ready = await (await fetch(`${sidecar.adminUrl}/readyz`)).json();
    expect(ready).toMatchObject({ ready: false, checks: { shutdown: { ok: false, error: 'shutting down' } } });
    expect(await get(`${sidecar.url}/after`, { authorization: `Bearer ${token}` })).toBe(0);
    // It arrived before the drain, on a keep-alive connection: its answer says the connection ends.
    expect(await inFlight).toEqual({ status: 200, connection: 'close' });
    expect(await sidecar.exited).toBe(0);
    keepAlive.destroy();
  });

  it('drains once: a second signal mid-drain neither kills the process nor starts another drain', async () => {
    const dir = tempDir();
    const sidecar = await serveCli(baseConfig(dir), { dir });
    const token = await signToken(key);
    const inFlight = get(`${sidecar.url}/slow-headers?ms=1500&t=twice`, { authorization: `Bearer ${token}` });
    await reachedApp('/slow-headers?ms=1500&t=twice');
    sidecar.kill('SIGINT');
    await sidecar.waitForLine((l) => l.msg === 'draining');
    sidecar.kill('SIGTERM');
    await sidecar.waitForLine((l) => l.msg === 'already draining');
    expect(await inFlight).toBe(200);
    expect(await sidecar.exited).toBe(0);
    expect(sidecar.lines.filter((l) => l.msg === 'draining')).toHaveLength(1);
    expect(sidecar.lines.filter((l) => l.msg === 'auth-sidecar stopped')).toHaveLength(1);
  });

  it('does not wait for a connection that never sent a request, and exits 0', async () => {
    const dir = tempDir();
    const sidecar = await serveCli(baseConfig(dir, { shutdownTimeoutSeconds: 10 }), { dir });
    const { hostname, port } = new URL(sidecar.url);
    const preopened = connect(Number(port), hostname).on('error', () => {});
    await new Promise((resolve) => preopened.once('connect', resolve));
    const started = Date.now();
    sidecar.kill('SIGTERM');
    expect(await sidecar.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    preopened.destroy();
  });

  it('cuts what is still running after shutdownTimeoutSeconds and exits 1', async () => {
    const dir = tempDir();
    const sidecar = await serveCli(baseConfig(dir, { shutdownTimeoutSeconds: 1 }), { dir });
    const inFlight = get(`${sidecar.url}/slow-headers?ms=10000&t=cut`, {
      authorization: `Bearer ${await signToken(key)}`,
    });
    await reachedApp('/slow-headers?ms=10000&t=cut');
    const started = Date.now();
    sidecar.kill('SIGTERM');
    expect(await sidecar.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await inFlight).toBe(0);
  });
});

describe('reload', () => {
  it('applies a changed config on SIGHUP, without dropping a keep-alive connection', async () => {
    const dir = tempDir();
    const config = baseConfig(dir);
    const sidecar = await serveCli(config, { dir });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await get(`${sidecar.url}/public/x`, {}, agent)).toBe(401);
      writeFileSync(sidecar.configFile, stringify({ ...config, routes: [{ path: '/public/**', auth: 'none' }] }));
      sidecar.child.kill('SIGHUP');
      await eventually(async () => (await reloads(sidecar.adminUrl, 'applied')) >= 1, 'a reload to be applied');
      expect(await get(`${sidecar.url}/public/x`, {}, agent)).toBe(200);
      const sockets = Object.values(agent.sockets).flat().length + Object.values(agent.freeSockets).flat().length;
      expect(sockets).toBe(1);
    } finally {
      agent.destroy();
      sidecar.kill();
      await sidecar.exited;
    }
  });

  it('notices a changed config file by itself within 5 s', async () => {
    const dir = tempDir();
    const config = baseConfig(dir);
    const sidecar = await serveCli(config, { dir });
    try {
      writeFileSync(sidecar.configFile, stringify({ ...config, routes: [{ path: '/**', auth: 'none' }] }));
      await eventually(async () => (await get(`${sidecar.url}/anything`)) === 200, 'the new config', {
        timeoutMs: 5000,
      });
      await sidecar.waitForLine((l) => l.msg === 'config reloaded' && l.reason === 'file change');
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
  });

  it('follows a Kubernetes ConfigMap update (the ..data symlink swap)', async () => {
    // Kubernetes mounts: config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>/
    const mount = tempDir();
    const version = (name: string, config: Record<string, unknown>) => {
      mkdirSync(join(mount, name));
      writeFileSync(join(mount, name, 'config.yaml'), stringify(config));
      writeFileSync(join(mount, name, 'jwks.json'), JSON.stringify(jwksOf(key)));
    };
    const config = baseConfig(tempDir());
    version('..2026_01_01_v1', config);
    symlinkSync('..2026_01_01_v1', join(mount, '..data'));
    symlinkSync('..data/config.yaml', join(mount, 'config.yaml'));
    symlinkSync('..data/jwks.json', join(mount, 'jwks.json'));
    const sidecar = await serveCli({}, { configFile: join(mount, 'config.yaml'), dir: mount });
    try {
      expect(await get(`${sidecar.url}/open`)).toBe(401);
      version('..2026_01_01_v2', { ...config, routes: [{ path: '/open', auth: 'none' }] });
      symlinkSync('..2026_01_01_v2', join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
      await eventually(async () => (await get(`${sidecar.url}/open`)) === 200, 'the new config', { timeoutMs: 5000 });
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
  });

  it('refuses an invalid new config: logged, counted, and the old one keeps serving', async () => {
    const dir = tempDir();
    const config = baseConfig(dir);
    const sidecar = await serveCli(config, { dir });
    const token = await signToken(key);
    try {
      writeFileSync(sidecar.configFile, stringify({ ...config, upstream: { url: 'not a url' }, secretish: 'x' }));
      await eventually(async () => (await reloads(sidecar.adminUrl, 'rejected')) >= 1, 'a reload to be rejected');
      const line = await sidecar.waitForLine((l) => l.msg === 'config reload rejected; the running config stays');
      expect(line.level).toBe('error');
      expect(line.problems).toEqual(
        expect.arrayContaining([
          'config: upstream.url: must be an absolute http(s) upstream URL',
          'config: secretish: unknown key',
        ]),
      );
      expect(await get(`${sidecar.url}/api`, { authorization: `Bearer ${token}` })).toBe(200);
      expect(await readyStatus(sidecar.adminUrl)).toBe(200);
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
  });

  it('reloads a changed keys file (key rotation through a mounted Secret)', async () => {
    const dir = tempDir();
    const sidecar = await serveCli(baseConfig(dir), { dir });
    const next = await createSigningKey('ES256', 'k2');
    try {
      expect(await get(`${sidecar.url}/api`, { authorization: `Bearer ${await signToken(next)}` })).toBe(401);
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(next)));
      await eventually(
        async () => (await get(`${sidecar.url}/api`, { authorization: `Bearer ${await signToken(next)}` })) === 200,
        'the rotated key',
      );
      expect(await get(`${sidecar.url}/api`, { authorization: `Bearer ${await signToken(key)}` })).toBe(401);
      // A broken keys file is refused; the last good keys stay.
      writeFileSync(join(dir, 'jwks.json'), '{ not json');
      await eventually(async () => (await reloads(sidecar.adminUrl, 'rejected')) >= 1, 'a reload to be rejected');
      expect(await get(`${sidecar.url}/api`, { authorization: `Bearer ${await signToken(next)}` })).toBe(200);
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
  });

  it('says a changed listen address needs a restart, and keeps listening where it was', async () => {
    const dir = tempDir();
    const config = baseConfig(dir);
    const sidecar = await serveCli(config, { dir });
    try {
      writeFileSync(sidecar.configFile, stringify({ ...config, listen: '127.0.0.1:1' }));
      const warning = await sidecar.waitForLine(
        (l) => typeof l.msg === 'string' && l.msg.startsWith('a changed listen address needs a restart'),
      );
      expect(warning.level).toBe('warn');
      expect(await get(`${sidecar.url}/api`)).toBe(401);
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
  });
});

describe('log lines', () => {
  it('stay JSON on stdout: a Node warning (http-proxy’s deprecated util._extend) is logged, not printed', async () => {
    const dir = tempDir();
    const sidecar = await serveCli(baseConfig(dir), { dir });
    try {
      const reply = await pingOverWebSocket(`${sidecar.url.replace('http', 'ws')}/ws`, {
        authorization: `Bearer ${await signToken(key)}`,
      });
      expect(reply).toBe('ping');
      await sidecar.waitForLine((l) => l.msg === 'node warning');
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
    expect(sidecar.stderr()).toBe('');
  });
});
