// Per-address lockout through a running sidecar: the address is the one trustedProxies lets the
// sidecar know. Behind a trusted proxy each client counts on its own; from an untrusted peer,
// a forged X-Forwarded-For changes nothing (rotating it is no way around the limit).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import { startTestSidecar, type TestSidecar, tempDir } from '../support/sidecar.ts';

let upstream: EchoUpstream;
let dir: string;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  dir = tempDir();
  htpasswd(join(dir, 'htpasswd'), [{ user: 'alice', password: 'alice-pw' }]);
});

afterAll(async () => {
  await upstream?.close();
});

function start(trustedProxies: string[]): Promise<TestSidecar> {
  return startTestSidecar({
    upstream: { url: upstream.url },
    trustedProxies,
    basic: {
      htpasswdFile: join(dir, 'htpasswd'),
      lockout: { maxFailures: 0, addressMaxFailures: 3, backoffSeconds: 45 },
    },
  });
}

async function status(sidecar: TestSidecar, user: string, password: string, forwardedFor: string): Promise<number> {
  const res = await fetch(`${sidecar.url}/api`, {
    headers: { authorization: basicAuth(user, password), 'x-forwarded-for': forwardedFor },
  });
  await res.arrayBuffer();
  return res.status;
}

describe('per client address', () => {
  it('behind a trusted proxy: the client that failed is locked, across user names; others are not', async () => {
    const sidecar = await start(['127.0.0.1']);
    try {
      for (const user of ['root', 'admin', 'alice'])
        expect(await status(sidecar, user, 'guess', '203.0.113.5')).toBe(401);
      expect(await status(sidecar, 'alice', 'alice-pw', '203.0.113.5')).toBe(429);
      expect(await status(sidecar, 'alice', 'alice-pw', '198.51.100.7')).toBe(200);
    } finally {
      await sidecar.stop();
    }
  });

  it('from an untrusted peer: a forged X-Forwarded-For does not escape the lock', async () => {
    const sidecar = await start([]);
    try {
      for (let i = 0; i < 3; i++) expect(await status(sidecar, `user${i}`, 'guess', `203.0.113.${i}`)).toBe(401);
      expect(await status(sidecar, 'alice', 'alice-pw', '192.0.2.99')).toBe(429);
    } finally {
      await sidecar.stop();
    }
  });
});
