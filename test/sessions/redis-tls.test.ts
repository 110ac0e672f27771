// rediss://: the session store over TLS, the server's certificate verified (here a private CA
// the process is told about with NODE_EXTRA_CA_CERTS, as in a pod with a mounted CA).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveCli } from '../support/cli.ts';
import { type RedisProcess, startRedisServer, stopRedisServers } from '../support/redis-servers.ts';
import { tempDir } from '../support/sidecar.ts';

describe('session store over TLS (rediss://)', () => {
  let redis: RedisProcess;
  let cert: string;

  beforeAll(async () => {
    const dir = tempDir('auth-sidecar-tls-');
    cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    redis = await startRedisServer([], undefined, { cert, key });
  });
  afterAll(() => stopRedisServers());

  const config = () => ({
    upstream: { url: 'http://127.0.0.1:9' },
    jwt: { audience: 'a', jwksUri: 'https://idp.test/jwks' },
    session: { store: 'redis', redis: { url: redis.url, keyPrefix: 'tls:' } },
  });

  async function sessionStoreCheck(env: NodeJS.ProcessEnv): Promise<{ ok: boolean; error?: string }> {
    const sidecar = await serveCli(config(), { env });
    try {
      const response = await fetch(`${sidecar.adminUrl}/readyz`);
      const body = (await response.json()) as { checks: Record<string, { ok: boolean; error?: string }> };
      return body.checks.sessionStore as { ok: boolean; error?: string };
    } finally {
      sidecar.kill();
      await sidecar.exited;
    }
  }

  it('connects when the server certificate is trusted', async () => {
    expect(redis.url).toMatch(/^rediss:\/\//);
    expect(await sessionStoreCheck({ NODE_EXTRA_CA_CERTS: cert })).toEqual({ ok: true });
  });

  it('refuses a server certificate it cannot verify (fails closed)', async () => {
    const check = await sessionStoreCheck({});
    expect(check.ok).toBe(false);
  });
});
