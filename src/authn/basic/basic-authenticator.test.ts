// The basic authenticator over a real htpasswd file and the memory store. Hash work is counted
// (auth_sidecar_basic_hash_checks_total), not timed: an unknown user must cost the same hash
// work as a wrong password, and a cached credential none.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, htpasswd } from '../../../test/support/htpasswd.ts';
import { tempDir } from '../../../test/support/sidecar.ts';
import { type BasicConfig, configSchema } from '../../config/schema.ts';
import { SidecarError } from '../../errors.ts';
import { createLogger } from '../../observability/logger.ts';
import { createMetrics, type Metrics } from '../../observability/metrics.ts';
import { MemoryStore } from '../../sessions/memory-store.ts';
import type { AuthRequest } from '../authenticator.ts';
import { BasicAuthenticator } from './basic-authenticator.ts';
import { loadUserDirectory } from './user-directory.ts';

const dir = tempDir();
const bcryptFile = join(dir, 'bcrypt');
const apr1File = join(dir, 'apr1');

beforeAll(() => {
  htpasswd(bcryptFile, [
    { user: 'alice', password: 'alice-pw', cost: 6 },
    { user: 'bob', password: 'bob-pw', cost: 6 },
  ]);
  htpasswd(apr1File, [{ user: 'mo', password: 'mo-pw', kind: 'm' }]);
});

function setup(file: string, basic: Record<string, unknown> = {}) {
  const config = configSchema.parse({
    upstream: { url: 'http://127.0.0.1:5000' },
    basic: { htpasswdFile: file, ...basic },
  }).basic as BasicConfig;
  const metrics = createMetrics();
  const authenticator = new BasicAuthenticator({
    config,
    directory: loadUserDirectory(config),
    store: new MemoryStore(),
    logger: createLogger({ level: 'silent' }),
    metrics,
  });
  return { authenticator, metrics };
}

function request(user: string, password: string, clientAddress = '127.0.0.1'): AuthRequest {
  const credentials = basicAuth(user, password).slice('Basic '.length);
  return { headers: {}, authorization: { scheme: 'basic', credentials }, clientAddress };
}

/** Hash checks per scheme, leaving out the schemes never used (every one starts at 0). */
async function hashChecks(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.basicHashChecks.get();
  return Object.fromEntries(values.filter((v) => v.value > 0).map((v) => [String(v.labels.scheme), v.value]));
}

async function failure(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SidecarError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('verification', () => {
  it('returns the identity for the right password, with method basic', async () => {
    const { authenticator } = setup(bcryptFile);
    expect(await authenticator.authenticate(request('alice', 'alice-pw'))).toEqual({
      user: 'alice',
      method: 'basic',
      groups: [],
      scopes: [],
      claims: {},
    });
  });

  it('leaves other schemes (and no credential) to other authenticators', async () => {
    const { authenticator } = setup(bcryptFile);
    const bearer: AuthRequest = {
      headers: {},
      authorization: { scheme: 'bearer', credentials: 'x.y.z' },
      clientAddress: '127.0.0.1',
    };
    expect(await authenticator.authenticate(bearer)).toBeNull();
    expect(await authenticator.authenticate({ ...bearer, authorization: undefined })).toBeNull();
  });
});

describe('an unknown user costs the same hash work as a wrong password (count, not clock)', () => {
  it('bcrypt file: one bcrypt check each, and the same answer', async () => {
    const { authenticator, metrics } = setup(bcryptFile, { cache: { ttlSeconds: 0 } });
    const wrong = await failure(authenticator.authenticate(request('alice', 'nope')));
    expect(await hashChecks(metrics)).toEqual({ bcrypt: 1 });
    const unknown = await failure(authenticator.authenticate(request('mallory', 'nope')));
    expect(await hashChecks(metrics)).toEqual({ bcrypt: 2 });
    expect(unknown).toEqual(wrong);
    expect(unknown).toEqual({ status: 401, code: 'invalid_credentials', message: 'wrong user name or password' });
  });

  it('the decoy has the cost of the real hashes', async () => {
    const { authenticator } = setup(bcryptFile);
    const decoy = await authenticator.directory.decoyHash();
    expect(decoy.scheme).toBe('bcrypt');
    expect(decoy.cost).toBe(6);
    expect(decoy.value).toMatch(/^\$2y\$06\$/);
  });

  it('apr1 file: the decoy is an apr1 hash too', async () => {
    const { authenticator, metrics } = setup(apr1File);
    await failure(authenticator.authenticate(request('mo', 'nope')));
    await failure(authenticator.authenticate(request('nobody', 'nope')));
    expect(await hashChecks(metrics)).toEqual({ apr1: 2 });
  });
});

describe('verified-credential cache', () => {
  it('answers a repeated credential without hash work', async () => {
    const { authenticator, metrics } = setup(bcryptFile);
    for (let i = 0; i < 5; i++) expect((await authenticator.authenticate(request('bob', 'bob-pw')))?.user).toBe('bob');
    expect(await hashChecks(metrics)).toEqual({ bcrypt: 1 });
    const { values } = await metrics.basicCredentialCache.get();
    expect(Object.fromEntries(values.map((v) => [v.labels.result, v.value]))).toEqual({ miss: 1, hit: 4 });
  });

  it('never answers a different password from the cache', async () => {
    const { authenticator, metrics } = setup(bcryptFile);
    await authenticator.authenticate(request('bob', 'bob-pw'));
    expect((await failure(authenticator.authenticate(request('bob', 'bob-pw ')))).status).toBe(401);
    expect(await hashChecks(metrics)).toEqual({ bcrypt: 2 });
  });

  it('does not remember failures', async () => {
    const { authenticator, metrics } = setup(bcryptFile);
    await failure(authenticator.authenticate(request('bob', 'wrong')));
    await failure(authenticator.authenticate(request('bob', 'wrong')));
    expect(await hashChecks(metrics)).toEqual({ bcrypt: 2 });
  });

  it('verifies concurrent equal requests once', async () => {
    const { authenticator, metrics } = setup(bcryptFile);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => authenticator.authenticate(request('alice', 'alice-pw'))),
    );
    expect(results.every((identity) => identity?.user === 'alice')).toBe(true);
    expect(await hashChecks(metrics)).toEqual({ bcrypt: 1 });
  });

  it('is off with ttlSeconds 0: every request is verified', async () => {
    const { authenticator, metrics } = setup(bcryptFile, { cache: { ttlSeconds: 0 } });
    await authenticator.authenticate(request('alice', 'alice-pw'));
    await authenticator.authenticate(request('alice', 'alice-pw'));
    expect(await hashChecks(metrics)).toEqual({ bcrypt: 2 });
  });
});

describe('lockout', () => {
  it('answers 429 with Retry-After past the limit, even for the right password, without hash work', async () => {
    const { authenticator, metrics } = setup(bcryptFile, { lockout: { maxFailures: 2, backoffSeconds: 120 } });
    for (let i = 0; i < 2; i++)
      expect((await failure(authenticator.authenticate(request('alice', 'x')))).status).toBe(401);
    let refused: unknown;
    try {
      await authenticator.authenticate(request('ALICE', 'alice-pw'));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(SidecarError);
    expect((refused as SidecarError).status).toBe(429);
    expect((refused as SidecarError).code).toBe('too_many_attempts');
    expect((refused as SidecarError).headers).toEqual({ 'Retry-After': '120' });
    await failure(authenticator.authenticate(request('alice', 'alice-pw')));
    expect(await hashChecks(metrics)).toEqual({ bcrypt: 2 });
  });

  it('treats a user that does not exist exactly like one that does', async () => {
    const { authenticator } = setup(bcryptFile, { lockout: { maxFailures: 2 } });
    const answers = async (user: string) => {
      const out = [];
      for (let i = 0; i < 3; i++)
        out.push(await failure(authenticator.authenticate(request(user, 'x', `10.1.0.${i}`))));
      return out;
    };
    expect(await answers('ghost')).toEqual(await answers('bob'));
    expect((await answers('ghost2')).map((a) => a.status)).toEqual([401, 401, 429]);
  });
});
