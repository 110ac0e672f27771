// The identity token (identityToken): a short-lived JWT the sidecar signs for every request it
// forwards and every forward-auth answer that lets one pass, so that the app, and the services
// it calls, can verify who the caller is against {pathPrefix}/jwks.json instead of trusting a
// plain header. One token per identity is signed and then handed out again while at least half
// of ttlSeconds is left: a signature costs far more than the rest of a request, the reuse
// never lets a token outlive ttlSeconds or the identity's own expiry, and `jti` therefore names
// a token, not a request.
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, type JWK, type JWTPayload, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Identity } from '../authn/identity.ts';
import type { Config, IdentityTokenConfig } from '../config/schema.ts';
import { readSigningKeys, type SigningKey } from './signing-keys.ts';

/** Identities whose token is remembered by what it says, beyond the ones remembered by object. */
const CACHE_ENTRIES = 10_000;

interface Issued {
  readonly token: string;
  /** Epoch milliseconds until which the token is handed out again. */
  readonly reuseUntil: number;
}

export interface JwkSet {
  readonly keys: readonly JWK[];
}

interface Published {
  /** The signing key's kid. */
  readonly kid: string;
  readonly jwks: JwkSet;
}

export class IdentityTokenSigner {
  /** The request header that carries the token (identityToken.header). */
  readonly header: string;
  private readonly signingKey: SigningKey;
  private readonly issuer: string;
  private readonly audience: string | string[];
  private readonly ttlSeconds: number;
  /** kids are SHA-256 thumbprints (RFC 7638), which jose computes asynchronously. */
  private readonly published: Promise<Published>;
  /** Authenticators hand out the same Identity object for a cached credential: no key to build. */
  private readonly byIdentity = new WeakMap<Identity, Issued>();
  /** Identities built afresh per request (login sessions), by what their token says. */
  private readonly byContent = new LRUCache<string, Issued>({ max: CACHE_ENTRIES });

  /** Reads the key files; throws ConfigError naming identityToken.signingKeyFile. */
  constructor(settings: IdentityTokenConfig, config: Pick<Config, 'publicUrl' | 'upstream'>) {
    const keys = readSigningKeys(settings);
    this.signingKey = keys[0] as SigningKey;
    this.header = settings.header;
    this.issuer = settings.issuer ?? config.publicUrl ?? 'auth-sidecar';
    const audience = settings.audience ?? [new URL(config.upstream.url).origin];
    this.audience = audience.length === 1 ? (audience[0] as string) : [...audience];
    this.ttlSeconds = settings.ttlSeconds;
    this.published = publish(keys);
    // A failure surfaces where the result is awaited; it must not also crash the process here.
    this.published.catch(() => {});
  }

  /** The token already signed for this identity, while it may still be handed out. */
  cached(identity: Identity): string | undefined {
    const now = Date.now();
    const same = this.byIdentity.get(identity);
    if (same !== undefined && same.reuseUntil > now) return same.token;
    const alike = this.byContent.get(contentKey(identity));
    return alike !== undefined && alike.reuseUntil > now ? alike.token : undefined;
  }

  /** A new token for the identity, remembered for the next requests. */
  async sign(identity: Identity): Promise<string> {
    const { kid } = await this.published;
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    const exp = expiryOf(iat, this.ttlSeconds, identity.expiresAt);
    const token = await new SignJWT(claimsOf(identity))
      .setProtectedHeader({ alg: this.signingKey.alg, kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(identity.user)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.signingKey.privateKey);
    const issued: Issued = { token, reuseUntil: exp * 1000 - this.ttlSeconds * 500 };
    if (issued.reuseUntil > now) {
      this.byIdentity.set(identity, issued);
      this.byContent.set(contentKey(identity), issued);
    }
    return token;
  }

  /** The public keys of every configured key file, for {pathPrefix}/jwks.json. */
  async jwks(): Promise<JwkSet> {
    return (await this.published).jwks;
  }
}

/** iat + ttlSeconds, but never later than the identity's own expiry (epoch ms). */
function expiryOf(iat: number, ttlSeconds: number, expiresAt: number | undefined): number {
  const latest = iat + ttlSeconds;
  return expiresAt === undefined ? latest : Math.min(latest, Math.floor(expiresAt / 1000));
}

/** The claims that say who the caller is; iss, aud, sub, iat, exp and jti are set by the signer. */
function claimsOf(identity: Identity): JWTPayload {
  const claims: JWTPayload = {};
  if (identity.email !== undefined) claims.email = identity.email;
  claims.groups = [...identity.groups];
  if (identity.preferredUsername !== undefined) claims.preferred_username = identity.preferredUsername;
  claims.auth_method = identity.method;
  return claims;
}

/** Everything a token says about its identity, unambiguously (JSON keeps the fields apart). */
function contentKey(identity: Identity): string {
  return JSON.stringify([
    identity.method,
    identity.user,
    identity.email ?? null,
    identity.preferredUsername ?? null,
    identity.expiresAt ?? null,
    identity.groups,
  ]);
}

/** Every key's public JWK with its kid (once per distinct key), and the signing key's kid. */
async function publish(keys: readonly SigningKey[]): Promise<Published> {
  const published = new Map<string, JWK>();
  for (const key of keys) {
    const kid = await calculateJwkThumbprint(key.publicJwk, 'sha256');
    if (!published.has(kid)) published.set(kid, { ...key.publicJwk, kid, alg: key.alg, use: 'sig' });
  }
  const [kid] = published.keys();
  return { kid: kid as string, jwks: { keys: [...published.values()] } };
}
