// rediss://: the session store over TLS, the server's certificate verified (here a private CA
// the process is told about with NODE_EXTRA_CA_CERTS, as in a pod with a mounted CA).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveCli } from '../support/cli.ts';
import {
  type ClusterSetup,
  type RedisProcess,
  startCluster,
  startRedisServer,
  stopRedisServers,
} from '../support/redis-servers.ts';
import { tempDir } from '../support/sidecar.ts';

describe('session store over TLS (rediss://)', () => {
  let redis: RedisProcess;
  let cert: string;
  let key: string;

  beforeAll(async () => {
    ({ cert, key } = selfSignedCert());
    redis = await startRedisServer([], undefined, { cert, key });
  });
  afterAll(() => stopRedisServers());

  const sessionStoreCheck = (env: NodeJS.ProcessEnv) => storeCheck({ url: redis.url, keyPrefix: 'tls:' }, env);

  it('connects when the server certificate is trusted', async () => {
    expect(redis.url).toMatch(/^rediss:\/\//);
    expect(await sessionStoreCheck({ NODE_EXTRA_CA_CERTS: cert })).toEqual({ ok: true });
  });

  it('refuses a server certificate it cannot verify (fails closed)', async () => {
    const check = await sessionStoreCheck({});
    expect(check.ok).toBe(false);
  });
});

describe('session store on a Redis Cluster over TLS (rediss:// nodes)', () => {
  let cluster: ClusterSetup;
  let cert: string;

  beforeAll(async () => {
    const files = selfSignedCert();
    cert = files.cert;
    cluster = await startCluster(files);
  }, 60_000);
  afterAll(() => cluster?.stop());

  it('connects to every node over TLS when the certificate is trusted', async () => {
    expect(cluster.nodes.every((n) => n.startsWith('rediss://'))).toBe(true);
    expect(await storeCheck({ cluster: cluster.nodes, keyPrefix: 'tls:' }, { NODE_EXTRA_CA_CERTS: cert })).toEqual({
      ok: true,
    });
  });

  it('refuses a certificate it cannot verify (fails closed)', async () => {
    expect((await storeCheck({ cluster: cluster.nodes, keyPrefix: 'tls:' }, {})).ok).toBe(false);
  });
});

/** What /readyz says of the session store, for a sidecar on these Redis settings. */
async function storeCheck(
  redis: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Promise<{ ok: boolean; error?: string }> {
  const config = {
    upstream: { url: 'http://127.0.0.1:9' },
    jwt: { audience: 'a', jwksUri: 'https://idp.test/jwks' },
    session: { store: 'redis', redis },
  };
  const sidecar = await serveCli(config, { env });
  try {
    const response = await fetch(`${sidecar.adminUrl}/readyz`);
    const body = (await response.json()) as { checks: Record<string, { ok: boolean; error?: string }> };
    return body.checks.sessionStore as { ok: boolean; error?: string };
  } finally {
    sidecar.kill();
    await sidecar.exited;
  }
}

/** A certificate for 127.0.0.1 that only NODE_EXTRA_CA_CERTS makes trusted. */
function selfSignedCert(): { cert: string; key: string } {
  const dir = tempDir('auth-sidecar-tls-');
  const cert = join(dir, 'cert.pem');
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
  return { cert, key };
}
