// TLS on the pod port, through a real sidecar and real certificates: HTTPS in, the app still
// reached over plain HTTP with X-Forwarded-Proto https; TLS 1.2 and 1.3 only; WebSockets over
// TLS; the admin listener plain HTTP for the probes; a certificate rotated under an open
// streaming response (the open connection finishes, the next handshake sees the new one); and
// unusable files refused at start and on reload, while the running certificate keeps serving.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { get } from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { buildLogin } from '../../src/oidc/login.ts';
import { MemoryStore } from '../../src/sessions/memory-store.ts';
import {
  type CertificateAuthority,
  createCa,
  EXPIRED,
  type Issued,
  issue,
  issueServer,
} from '../support/certificates.ts';
import { runCli } from '../support/cli.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import {
  RELOADS_APPLIED as APPLIED,
  metric,
  RELOADS_REJECTED as REJECTED,
  startTestSidecar,
  type TestSidecar,
  tempDir,
} from '../support/sidecar.ts';
import { handshake, requestTls } from '../support/tls-client.ts';
import { eventually } from '../support/wait.ts';

let upstream: EchoUpstream;
let ca: CertificateAuthority;
let first: Issued;
let second: Issued;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  ca = createCa('Listener Test CA');
  first = issueServer(ca, 'server-1');
  second = issueServer(ca, 'server-2');
});
afterAll(() => upstream?.close());

/** A sidecar folder with tls/tls.crt and tls/tls.key as a Secret mount would hold them. */
function sidecarDir(server: Issued): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'tls'));
  copyFileSync(server.certFile, join(dir, 'tls/tls.crt'));
  copyFileSync(server.keyFile, join(dir, 'tls/tls.key'));
  htpasswd(join(dir, 'htpasswd'), [{ user: 'alice', password: 'alice-pw' }]);
  return dir;
}

const TLS = { certFile: 'tls/tls.crt', keyFile: 'tls/tls.key' };

function config(): Record<string, unknown> {
  return {
    upstream: { url: upstream.url },
    basic: { htpasswdFile: 'htpasswd' },
    tls: TLS,
    routes: [
      { path: '/public/**', auth: 'none' },
      { path: '/download', auth: 'none' },
    ],
  };
}

describe('the main listener with tls', () => {
  let sidecar: TestSidecar;

  beforeAll(async () => {
    sidecar = await startTestSidecar(config(), { dir: sidecarDir(first) });
  });
  afterAll(() => sidecar?.stop());

  it('proxies HTTPS to the app, which learns the scheme from X-Forwarded-Proto: https', async () => {
    expect(sidecar.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await requestTls(
      `${sidecar.url}/private/x?q=1`,
      { ca: ca.cert },
      {
        headers: { authorization: basicAuth('alice', 'alice-pw'), 'x-forwarded-proto': 'http' },
      },
    );
    expect(answer.status).toBe(200);
    const echo = JSON.parse(answer.body) as { url: string; headers: Record<string, string[]> };
    expect(echo.url).toBe('/private/x?q=1');
    expect(echo.headers['x-forwarded-user']).toEqual(['alice']);
    // The peer is not a trusted proxy: its claim of plain http is replaced by what the sidecar sees.
    expect(echo.headers['x-forwarded-proto']).toEqual(['https']);
  });

  it('refuses a request without credentials as before, over TLS', async () => {
    const answer = await requestTls(`${sidecar.url}/private/x`, { ca: ca.cert });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Basic realm="auth-sidecar"');
  });

  it('keeps the admin listener plain HTTP, for the kubelet probes', async () => {
    expect(sidecar.adminUrl).toMatch(/^http:\/\//);
    expect((await fetch(`${sidecar.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200);
  });

  it('does not answer plain HTTP on the TLS port', async () => {
    const error = await fetch(sidecar.url.replace('https:', 'http:')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
  });

  it('accepts TLS 1.2 and 1.3 and refuses TLS 1.0 and 1.1 with a protocol_version alert', async () => {
    // SECLEVEL=0 lets this client offer the old versions at all: the refusal must be the server's.
    const old = { ca: ca.cert, ciphers: 'DEFAULT@SECLEVEL=0' };
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const made = await handshake(sidecar.url, { ...old, minVersion: version, maxVersion: version });
      expect(made.protocol).toBe(version);
      expect(made.fingerprint256).toBe(first.fingerprint256);
    }
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const refused = await handshake(sidecar.url, { ...old, minVersion: version, maxVersion: version }).then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e.code,
      );
      expect(refused, version).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    }
  });

  it('proxies a WebSocket upgrade over TLS after authentication, and refuses one without it', async () => {
    const url = `${sidecar.url.replace('https:', 'wss:')}/private/socket`;
    const socket = new WebSocket(url, { ca: ca.cert, headers: { authorization: basicAuth('alice', 'alice-pw') } });
    const echoed = await new Promise<string>((resolve, reject) => {
      socket.on('open', () => socket.send('ping over tls'));
      socket.on('message', (data) => resolve(data.toString()));
      socket.on('error', reject);
    });
    socket.close();
    expect(echoed).toBe('ping over tls');
    expect(upstream.received.at(-1)?.headers['x-forwarded-proto']).toEqual(['https']);

    const refused = new WebSocket(url, { ca: ca.cert });
    const status = await new Promise<number>((resolve) => {
      refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.on('error', () => resolve(0));
    });
    expect(status).toBe(401);
  });
});

describe('a certificate rotated under a running sidecar', () => {
  let sidecar: TestSidecar;
  let dir: string;

  beforeAll(async () => {
    dir = sidecarDir(first);
    sidecar = await startTestSidecar(config(), { dir, watchIntervalMs: 100 });
  });
  afterAll(() => sidecar?.stop());

  it('serves the new certificate to the next handshake while an open response finishes', async () => {
    const size = 16 * 1024 * 1024;
    // A download the client reads slowly: it stays open across the rotation.
    const download = await new Promise<IncomingMessage>((resolve, reject) => {
      get(`${sidecar.url}/download?bytes=${size}`, { ca: ca.cert, agent: false }, resolve).on('error', reject);
    });
    expect(download.statusCode).toBe(200);
    const openedWith = (download.socket as TLSSocket).getPeerCertificate().fingerprint256;
    expect(openedWith).toBe(first.fingerprint256);
    download.pause();

    copyFileSync(second.certFile, join(dir, 'tls/tls.crt'));
    copyFileSync(second.keyFile, join(dir, 'tls/tls.key'));
    await eventually(
      async () => (await handshake(sidecar.url, { ca: ca.cert })).fingerprint256 === second.fingerprint256,
      'the rotated certificate on a new connection',
      { timeoutMs: 5000 },
    );

    let received = 0;
    download.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    await new Promise<void>((resolve, reject) => {
      download.once('end', resolve);
      download.once('error', reject);
      download.resume();
    });
    expect(received).toBe(size);
    expect(download.complete).toBe(true);
  });

  it('refuses a reload whose key does not match, and keeps serving the running certificate', async () => {
    const running = (await handshake(sidecar.url, { ca: ca.cert })).fingerprint256;
    const rejected = await metric(sidecar, REJECTED);
    copyFileSync(first.keyFile, join(dir, 'tls/tls.key')); // the other certificate's key
    await eventually(async () => (await metric(sidecar, REJECTED)) > rejected, 'the reload refused', {
      timeoutMs: 5000,
    });
    const line = sidecar.logs.findLast((l) => l.msg === 'config reload rejected; the running config stays');
    expect(line?.problems).toEqual(['config: tls.keyFile: does not match the first certificate of tls.certFile']);
    expect((await handshake(sidecar.url, { ca: ca.cert })).fingerprint256).toBe(running);
    const answer = await requestTls(`${sidecar.url}/public/x`, { ca: ca.cert });
    expect(answer.status).toBe(200);

    const applied = await metric(sidecar, APPLIED);
    copyFileSync(first.certFile, join(dir, 'tls/tls.crt'));
    await eventually(async () => (await metric(sidecar, APPLIED)) > applied, 'the matching pair applied', {
      timeoutMs: 5000,
    });
    expect((await handshake(sidecar.url, { ca: ca.cert })).fingerprint256).toBe(first.fingerprint256);
  });

  it('logs that turning tls off needs a restart, and keeps serving HTTPS', async () => {
    const { tls: _, ...plain } = config();
    writeFileSync(
      join(dir, 'config.yaml'),
      JSON.stringify({ ...plain, listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' } }),
    );
    await eventually(
      async () => sidecar.logs.some((l) => String(l.msg).startsWith('turning tls on or off')),
      'the restart warning',
      { timeoutMs: 5000 },
    );
    expect((await handshake(sidecar.url, { ca: ca.cert })).fingerprint256).toBe(first.fingerprint256);
  });
});

describe('cookies with tls', () => {
  it('are Secure by default, as with an https publicUrl, unless session.cookie.secure says otherwise', () => {
    const setCookie = (tls: object | undefined, cookie: object = {}) => {
      const config = parseConfig(
        {
          upstream: { url: upstream.url },
          publicUrl: 'http://app.test',
          oidc: { issuer: 'https://idp.test', clientId: 'app' },
          // A copy: parseConfig resolves the *File paths of what it is given in place.
          ...(tls ? { tls: { ...tls } } : {}),
          session: { cookie: { secret: 'a-cookie-secret-of-at-least-32-bytes', ...cookie } },
        },
        tempDir(),
      );
      const services = { logger: createLogger({ level: 'silent' }), metrics: createMetrics() };
      return buildLogin(config, services, new MemoryStore())?.cookies.setSession('v') ?? '';
    };
    expect(setCookie(undefined)).not.toContain('Secure');
    expect(setCookie(TLS)).toContain('; Secure');
    expect(setCookie(TLS, { secure: false })).not.toContain('Secure');
  });
});

describe('a drain over TLS', () => {
  it('does not wait for a connection that made its handshake but never sent a request', async () => {
    const sidecar = await startTestSidecar({ ...config(), shutdownTimeoutSeconds: 10 }, { dir: sidecarDir(first) });
    const { hostname, port } = new URL(sidecar.url);
    const preopened = await new Promise<TLSSocket>((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port), ca: ca.cert }, () => resolve(socket));
      socket.once('error', reject);
    });
    preopened.on('error', () => {});
    const closed = new Promise((resolve) => preopened.once('close', resolve));
    // 1 would mean the drain waited out shutdownTimeoutSeconds and cut the connection.
    expect(await sidecar.stop()).toBe(0);
    await closed;
  });
});

describe('unusable certificate and key files', () => {
  /** The problems a start with these files reports. */
  async function startProblems(files: { cert?: string; key?: string }): Promise<readonly string[]> {
    const dir = sidecarDir(first);
    if (files.cert !== undefined) writeFileSync(join(dir, 'tls/tls.crt'), files.cert);
    if (files.key !== undefined) writeFileSync(join(dir, 'tls/tls.key'), files.key);
    const started = await startTestSidecar(config(), { dir }).then(
      (s) => s.stop().then(() => []),
      (error: { lines?: readonly string[] }) => error.lines ?? [String(error)],
    );
    return started;
  }

  it('names tls.keyFile when the key belongs to another certificate', async () => {
    expect(await startProblems({ key: second.key.toString() })).toEqual([
      'config: tls.keyFile: does not match the first certificate of tls.certFile',
    ]);
  });

  it('names the key of a file that holds no PEM, without echoing its content', async () => {
    const problems = await startProblems({ cert: 'not a certificate', key: 'SECRET-KEY-MATERIAL' });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^config: tls\.certFile: ".*tls\.crt" holds no PEM certificate/);
    expect(problems[1]).toMatch(/^config: tls\.keyFile: ".*tls\.key" holds no PEM private key$/);
    expect(problems.join('\n')).not.toContain('SECRET-KEY-MATERIAL');
  });

  it('serves an expired certificate (a renewal may be on its way) and warns that it expired', async () => {
    const expired = issue(ca, 'expired-server', {
      cn: 'localhost',
      san: ['IP:127.0.0.1'],
      usage: 'serverAuth',
      ...EXPIRED,
    });
    const sidecar = await startTestSidecar(config(), { dir: sidecarDir(expired) });
    try {
      expect(sidecar.logs.find((l) => l.msg === 'the certificate of tls.certFile has expired')).toMatchObject({
        level: 'warn',
        expired: '2020-01-02T00:00:00.000Z',
      });
      expect((await handshake(sidecar.url, { ca: ca.cert, rejectUnauthorized: false })).fingerprint256).toBe(
        expired.fingerprint256,
      );
    } finally {
      await sidecar.stop();
    }
  });

  it('asks for an unencrypted key', async () => {
    const encrypted = join(tempDir(), 'encrypted.key');
    execFileSync('openssl', ['pkey', '-in', first.keyFile, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
    const problems = await startProblems({ key: readFileSync(encrypted, 'utf8') });
    expect(problems).toEqual([
      expect.stringMatching(/^config: tls\.keyFile: ".*" holds an encrypted key: give it unencrypted$/),
    ]);
  });

  it('check-config exits 78 for a missing file, one line per key', async () => {
    const dir = sidecarDir(first);
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      JSON.stringify({ ...config(), tls: { certFile: 'missing.crt', keyFile: 'missing.key', clientCaFile: 'ca.crt' } }),
    );
    const result = await runCli(['check-config', '--config', file]);
    expect(result.code).toBe(78);
    expect(result.stderr.trim().split('\n')).toEqual([
      `config: tls.certFile: cannot read "${join(dir, 'missing.crt')}": no such file`,
      `config: tls.keyFile: cannot read "${join(dir, 'missing.key')}": no such file`,
      `config: tls.clientCaFile: cannot read "${join(dir, 'ca.crt')}": no such file`,
    ]);
  });
});
