// Bearer JWT authentication (RFC 6750) with jose: one verifier per configured issuer, the
// algorithm pinned by an allowlist, `exp` required, `iat` not in the future, only access-token
// kinds accepted (RFC 8725 §3.11), and verified tokens remembered until they expire so that the
// common case costs a hash and a map lookup instead of a signature check.
import { hash } from 'node:crypto';
import {
  type CryptoKey,
  decodeJwt,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyResult,
  jwtVerify,
} from 'jose';
import { LRUCache } from 'lru-cache';
import type { Counter } from 'prom-client';
import { type AuthMethod, HMAC_ALGORITHMS, type JwtConfig } from '../../config/schema.ts';
import { type RefusalReason, SidecarError, UnauthorizedError } from '../../errors.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Authenticator, AuthRequest } from '../authenticator.ts';
import { type Identity, mapClaims } from '../identity.ts';
import type { KeySet } from './key-set.ts';

const METHOD: AuthMethod = 'jwt';
/** base64url JWS compact form; anything else is refused before any parsing. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const HMAC = new Set<string>(HMAC_ALGORITHMS);
/**
 * The `typ` values of a token meant as an access token: "JWT" and RFC 9068's "at+jwt", with or
 * without "application/" and in any case (RFC 7515 §4.1.9). No typ is accepted too (most
 * providers send none, or "JWT"). Any other names another kind, signed by the same keys: an
 * OpenID logout token (logout+jwt), a Security Event Token (secevent+jwt), a DPoP proof
 * (dpop+jwt)..., never a credential.
 */
const ACCESS_TOKEN_TYPES = new Set(['jwt', 'at+jwt']);

export interface JwtAuthenticatorOptions {
  entries: readonly JwtConfig[];
  /** The key set of each entry that has public keys (same order as entries). */
  keySets: readonly (KeySet | undefined)[];
  cacheSize?: number;
  /** Longest a verified token is trusted without a new signature check. */
  cacheMaxAgeMs?: number;
  /** Counts cache hits and misses (auth_sidecar_jwt_token_cache_total). */
  metrics?: Metrics;
}

interface Verifier {
  readonly entry: JwtConfig;
  readonly algorithms: string[];
  readonly getKey: JWTVerifyGetKey;
}

export function defaultAlgorithms(entry: JwtConfig, hasKeySet: boolean): string[] {
  return entry.algorithms ?? [...(hasKeySet ? ['RS256', 'ES256'] : []), ...(entry.secret ? ['HS256'] : [])];
}

export class JwtAuthenticator implements Authenticator {
  readonly method = METHOD;
  private readonly verifiers: readonly Verifier[];
  private readonly byIssuer = new Map<string, Verifier>();
  private readonly cache: LRUCache<string, Identity>;
  private readonly cacheMaxAgeMs: number;
  private readonly cacheHits: Counter.Internal | undefined;
  private readonly cacheMisses: Counter.Internal | undefined;

  constructor(options: JwtAuthenticatorOptions) {
    this.verifiers = options.entries.map((entry, index) => createVerifier(entry, options.keySets[index]));
    for (const verifier of this.verifiers) {
      if (verifier.entry.issuer !== undefined) this.byIssuer.set(verifier.entry.issuer, verifier);
    }
    this.cache = new LRUCache({ max: options.cacheSize ?? 10_000 });
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? 10 * 60_000;
    this.cacheHits = options.metrics?.jwtTokenCache.labels('hit');
    this.cacheMisses = options.metrics?.jwtTokenCache.labels('miss');
    for (const keySet of options.keySets) keySet?.onChange(() => this.cache.clear());
  }

  async authenticate({ authorization }: AuthRequest): Promise<Identity | null> {
    if (authorization?.scheme !== 'bearer') return null;
    const token = authorization.credentials;
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token))
      throw reject('malformed_token', 'the token is not a compact JWS');
    const cacheKey = hash('sha256', token, 'base64url');
    const cached = this.cache.get(cacheKey);
    if (cached && (cached.expiresAt ?? 0) > Date.now()) {
      this.cacheHits?.inc();
      return cached;
    }
    this.cacheMisses?.inc();
    const identity = await this.verify(token);
    const ttl = Math.min((identity.expiresAt ?? 0) - Date.now(), this.cacheMaxAgeMs);
    if (ttl > 0) this.cache.set(cacheKey, identity, { ttl });
    return identity;
  }

  private async verify(token: string): Promise<Identity> {
    const verifier = this.select(token);
    const { payload, protectedHeader } = await verifyWith(verifier, token);
    refuseOtherKinds(protectedHeader.typ, payload);
    refuseFutureIssue(payload, verifier.entry.clockToleranceSeconds);
    const mapped = mapClaims(payload, verifier.entry.claims, METHOD);
    if ('refused' in mapped) throw reject('no_user_claim', `the token ${mapped.refused}`);
    return mapped.identity;
  }

  /** One issuer: its verifier. Several: the one named by the (not yet verified) iss claim. */
  private select(token: string): Verifier {
    if (this.verifiers.length === 1) return this.verifiers[0] as Verifier;
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw reject('malformed_token', 'the token is malformed');
    }
    const verifier = typeof issuer === 'string' ? this.byIssuer.get(issuer) : undefined;
    if (!verifier) throw reject('wrong_issuer', 'the token issuer is not accepted');
    return verifier;
  }
}

function createVerifier(entry: JwtConfig, keySet: KeySet | undefined): Verifier {
  const secret = entry.secret === undefined ? undefined : new TextEncoder().encode(entry.secret);
  const getKey: JWTVerifyGetKey = (header, token) => {
    if (HMAC.has(header.alg)) {
      if (secret) return secret;
    } else if (keySet) {
      return keySet.getKey(header, token);
    }
    throw reject('alg_not_allowed', 'no key for the token algorithm');
  };
  return { entry, algorithms: defaultAlgorithms(entry, keySet !== undefined), getKey };
}

async function verifyWith(verifier: Verifier, token: string): Promise<JWTVerifyResult> {
  const { entry } = verifier;
  const options = {
    algorithms: verifier.algorithms,
    audience: [...entry.audience],
    clockTolerance: entry.clockToleranceSeconds,
    requiredClaims: ['exp'],
    ...(entry.issuer === undefined ? {} : { issuer: entry.issuer }),
  };
  try {
    return await jwtVerify(token, verifier.getKey, options);
  } catch (error) {
    if (error instanceof SidecarError) throw error;
    if ((error as { code?: string }).code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
      return tryEachKey(error as AsyncIterable<CryptoKey>, token, options);
    }
    throw reject(...describeJoseError(error));
  }
}

/** Several keys fit a token without kid (mid-rotation): the signature decides, as jose advises. */
async function tryEachKey(
  candidates: AsyncIterable<CryptoKey>,
  token: string,
  options: Parameters<typeof jwtVerify>[2],
): Promise<JWTVerifyResult> {
  for await (const key of candidates) {
    try {
      return await jwtVerify(token, key, options);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
        throw reject(...describeJoseError(error));
      }
    }
  }
  throw reject('bad_signature', 'the token signature is invalid');
}

/**
 * RFC 8725 §3.11: a token of another kind, signed by a key this issuer also uses, must not pass
 * as an access token. jose's `typ` option takes one value; the header is checked here instead.
 * A token with an `events` claim is a Security Event Token (RFC 8417), such as a back-channel
 * logout token, whatever its typ says.
 */
function refuseOtherKinds(typ: unknown, payload: JWTPayload): void {
  if (typ !== undefined) {
    const kind = typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined;
    if (kind === undefined || !ACCESS_TOKEN_TYPES.has(kind)) {
      throw reject('wrong_token_type', 'the token typ is not an access token');
    }
  }
  if (payload.events !== undefined) {
    throw reject('wrong_token_type', 'the token is a security event token, not an access token');
  }
}

/** jose checks `iat` only against a maximum age; a token issued in the future is refused here. */
function refuseFutureIssue(payload: JWTPayload, clockToleranceSeconds: number): void {
  const { iat } = payload;
  if (typeof iat === 'number' && iat > Date.now() / 1000 + clockToleranceSeconds) {
    throw reject('token_not_yet_valid', 'the token is issued in the future');
  }
}

/** What went wrong, as the log's reason and the challenge's error_description. */
function describeJoseError(error: unknown): [RefusalReason, string] {
  const { code, claim, reason } = error as { code?: string; claim?: string; reason?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return ['token_expired', 'the token expired'];
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return ['token_not_yet_valid', 'the token is not yet valid'];
      if (reason === 'missing') return ['missing_claim', `the token has no ${claim} claim`];
      if (claim === 'iss') return ['wrong_issuer', 'the token iss claim is not accepted'];
      if (claim === 'aud') return ['wrong_audience', 'the token aud claim is not accepted'];
      return ['malformed_token', `the token ${claim} claim is not accepted`];
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return ['alg_not_allowed', 'the token algorithm is not accepted'];
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return ['bad_signature', 'the token signature is invalid'];
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return ['unknown_kid', 'no known key matches the token'];
    case 'ERR_JOSE_NOT_SUPPORTED':
      return ['unsupported_key', 'the token uses an unsupported algorithm or key'];
    default:
      return ['malformed_token', 'the token is malformed'];
  }
}

function reject(reason: RefusalReason, description: string): UnauthorizedError {
  return new UnauthorizedError({ method: METHOD, error: 'invalid_token', reason, description });
}
