import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  jwtVerify,
} from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type PrivateKeyKind, writePrivateKey } from '../../test/support/keys.ts';
import { tempDir } from '../../test/support/sidecar.ts';
import type { Identity } from '../authn/identity.ts';
import { IdentityTokenSigner } from './signer.ts';

const dir = tempDir('identity-token-');
const CONFIG = { upstream: { url: 'http://127.0.0.1:5000', timeoutSeconds: 60, dropUnderscoreHeaders: true } };

function signer(kinds: PrivateKeyKind[] = ['P-256'], extra: Record<string, unknown> = {}, config = {}) {
  const files = kinds.map((kind, i) => {
    const file = join(dir, `${kind}-${i}-${Math.random().toString(36).slice(2)}.pem`);
    writePrivateKey(file, kind);
    return file;
  });
  const settings = { signingKeyFile: files, header: 'X-Auth-Sidecar-Identity', ttlSeconds: 60, ...extra };
  return new IdentityTokenSigner(settings, { ...CONFIG, ...config });
}

function identity(extra: Partial<Identity> = {}): Identity {
  return { user: 'alice', method: 'jwt', groups: ['dev', 'ops'], scopes: ['read'], claims: {}, ...extra };
}

/** An independent check: jose over the published JWKS, with the issuer and audience pinned. */
async function verify(
  s: IdentityTokenSigner,
  token: string,
  issuer = 'auth-sidecar',
  audience = 'http://127.0.0.1:5000',
) {
  return jwtVerify(token, createLocalJWKSet({ keys: [...(await s.jwks()).keys] }), { issuer, audience });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the identity token', () => {
  it.each([
    ['P-256', 'ES256'],
    ['P-384', 'ES384'],
    ['Ed25519', 'EdDSA'],
    ['RSA-2048', 'RS256'],
  ] as const)('is signed by a %s key with %s, kid the RFC 7638 thumbprint', async (kind, alg) => {
    const s = signer([kind]);
    const token = await s.sign(identity());
    const { protectedHeader } = await verify(s, token);
    const [jwk] = (await s.jwks()).keys;
    expect(protectedHeader).toEqual({ alg, kid: jwk?.kid, typ: 'JWT' });
    const { kid: _kid, alg: _alg, use, ...publicJwk } = jwk ?? {};
    expect(use).toBe('sig');
    expect(jwk?.kid).toBe(await calculateJwkThumbprint(publicJwk, 'sha256'));
    expect(publicJwk).not.toHaveProperty('d');
  });

  it('says who the caller is, in exactly the listed claims', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_800_000_000_500 });
    const s = signer();
    const token = await s.sign(
      identity({ email: 'alice@corp.com', preferredUsername: 'Alice', method: 'session', claims: { secret: 'x' } }),
    );
    const payload = decodeJwt(token);
    expect(payload).toEqual({
      iss: 'auth-sidecar',
      aud: 'http://127.0.0.1:5000',
      sub: 'alice',
      email: 'alice@corp.com',
      groups: ['dev', 'ops'],
      preferred_username: 'Alice',
      auth_method: 'session',
      iat: 1_800_000_000,
      exp: 1_800_000_060,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('leaves out email and preferred_username when the identity has none; groups is always a list', async () => {
    const payload = decodeJwt(await signer().sign(identity({ groups: [], method: 'basic' })));
    expect(payload).not.toHaveProperty('email');
    expect(payload).not.toHaveProperty('preferred_username');
    expect(payload.groups).toEqual([]);
    expect(payload.auth_method).toBe('basic');
  });

  it('takes issuer and audience from the settings, else publicUrl and the upstream origin', async () => {
    const fromSettings = signer(['P-256'], { issuer: 'https://issuer.example', audience: ['a', 'b'] });
    const payload = decodeJwt(await fromSettings.sign(identity()));
    expect([payload.iss, payload.aud]).toEqual(['https://issuer.example', ['a', 'b']]);
    const fromConfig = signer(['P-256'], {}, { publicUrl: 'https://app.example.com' });
    await verify(fromConfig, await fromConfig.sign(identity()), 'https://app.example.com');
  });

  it('never expires after the identity does', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_800_000_000_000 });
    const s = signer();
    const soon = decodeJwt(await s.sign(identity({ expiresAt: 1_800_000_020_999 })));
    expect(soon.exp).toBe(1_800_000_020);
    const later = decodeJwt(await s.sign(identity({ user: 'bob', expiresAt: 1_800_009_000_000 })));
    expect(later.exp).toBe(1_800_000_060);
  });

  it('publishes every key of a rotation list and signs with the first', async () => {
    const s = signer(['Ed25519', 'P-256', 'RSA-2048']);
    const { keys } = await s.jwks();
    expect(keys.map((k) => k.alg)).toEqual(['EdDSA', 'ES256', 'RS256']);
    expect(decodeProtectedHeader(await s.sign(identity())).kid).toBe(keys[0]?.kid);
  });
});

describe('reusing a signed token', () => {
  it('hands out the same token while half of ttlSeconds is left, then signs anew', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_800_000_000_000 });
    const s = signer();
    const alice = identity();
    expect(s.cached(alice)).toBeUndefined();
    const first = await s.sign(alice);
    vi.setSystemTime(1_800_000_029_999);
    expect(s.cached(alice)).toBe(first);
    vi.setSystemTime(1_800_000_030_000);
    expect(s.cached(alice)).toBeUndefined();
    const second = await s.sign(alice);
    expect(decodeJwt(second).jti).not.toBe(decodeJwt(first).jti);
  });

  it('finds the token of an equal identity built afresh (a login session per request)', async () => {
    const s = signer();
    const token = await s.sign(identity({ method: 'session' }));
    expect(s.cached(identity({ method: 'session' }))).toBe(token);
  });

  it('never hands one identity the token of another', async () => {
    const s = signer();
    const base = identity({ email: 'a@corp.com', expiresAt: Date.now() + 3_600_000 });
    await s.sign(base);
    const others: Partial<Identity>[] = [
      { user: 'mallory' },
      { method: 'basic' },
      { email: 'b@corp.com' },
      { email: undefined },
      { preferredUsername: 'A' },
      { groups: ['dev'] },
      { groups: ['dev,ops'] },
      { expiresAt: (base.expiresAt ?? 0) + 1000 },
    ];
    for (const change of others) expect(s.cached({ ...base, ...change }), JSON.stringify(change)).toBeUndefined();
    expect(s.cached({ ...base, scopes: [], claims: { other: 1 } })).toBeDefined();
  });

  it('does not keep a token whose identity expires within half of ttlSeconds', async () => {
    const s = signer();
    const expiring = identity({ expiresAt: Date.now() + 20_000 });
    await s.sign(expiring);
    expect(s.cached(expiring)).toBeUndefined();
  });

  it('is a token the JWKS still verifies', async () => {
    const s = signer(['RSA-2048']);
    const alice = identity();
    await s.sign(alice);
    const cached = s.cached(alice) as string;
    expect((await verify(s, cached)).payload.sub).toBe('alice');
    // Not signed by some other key: the verifier has only the published one.
    const other = await exportJWK(writePrivateKey(join(dir, 'other.pem'), 'RSA-2048').publicKey);
    await expect(jwtVerify(cached, createLocalJWKSet({ keys: [{ ...other, alg: 'RS256' }] }))).rejects.toThrow();
  });
});
