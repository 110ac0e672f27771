// Verifies a back-channel logout token (OpenID Connect Back-Channel Logout 1.0, §2.6): a JWT
// signed by the provider's keys (its JWKS, found by discovery) with a pinned asymmetric
// algorithm, issued by the configured issuer for this client, recent, carrying the
// back-channel-logout event, a sid or a sub, and no nonce (so an ID token cannot pass as one).
// Each jti is accepted once.
import { createHash } from 'node:crypto';
import { decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { type KeySet, RemoteKeySet } from '../authn/jwt/key-set.ts';
import { ASYMMETRIC_ALGORITHMS } from '../config/schema.ts';
import { BadRequestError, SidecarError } from '../errors.ts';
import type { SessionStore } from '../sessions/store.ts';
import type { OidcClient } from './provider-client.ts';

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_TOKEN_AGE_SECONDS = 600;
const CLOCK_TOLERANCE_SECONDS = 30;

export interface LogoutRequest {
  readonly sid?: string | undefined;
  readonly sub?: string | undefined;
}

export class LogoutTokenVerifier {
  private readonly client: OidcClient;
  private readonly keys: KeySet;

  constructor(client: OidcClient) {
    this.client = client;
    this.keys = new RemoteKeySet({
      jwksUri: async () => {
        const { jwks_uri } = await client.metadata();
        if (jwks_uri === undefined) throw new Error('the provider names no jwks_uri');
        return jwks_uri;
      },
    });
  }

  /**
   * The sessions to end; throws BadRequestError (400) for a token that must not be honoured.
   * `store` remembers the jti of accepted tokens.
   */
  async verify(token: string, store: SessionStore): Promise<LogoutRequest> {
    const metadata = await this.client.metadata();
    const offered = metadata.id_token_signing_alg_values_supported ?? ['RS256'];
    const algorithms = offered.filter((a) => (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a));
    let payload: Record<string, unknown>;
    let typ: string | undefined;
    try {
      const result = await jwtVerify(token, this.keys.getKey, {
        issuer: this.client.options.issuer,
        audience: this.client.options.clientId,
        algorithms,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: MAX_TOKEN_AGE_SECONDS,
        requiredClaims: ['iat', 'jti', 'events'],
      });
      payload = result.payload;
      typ = result.protectedHeader.typ;
    } catch (error) {
      if (error instanceof SidecarError) throw error; // the provider's keys are out of reach: 503
      throw invalid(reasonOf(error));
    }
    if (typ !== undefined && !['logout+jwt', 'jwt'].includes(typ.toLowerCase())) throw invalid('wrong token type');
    const events = payload.events as Record<string, unknown> | undefined;
    const event = events?.[BACKCHANNEL_EVENT];
    if (typeof event !== 'object' || event === null) throw invalid('no back-channel logout event');
    if (payload.nonce !== undefined) throw invalid('a logout token has no nonce');
    const sid = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
    if (sid === undefined && sub === undefined) throw invalid('neither sid nor sub');
    const jti = createHash('sha256').update(String(payload.jti)).digest('base64url');
    const seen = await store.increment(`logout-jti:${jti}`, (MAX_TOKEN_AGE_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000);
    if (seen.count > 1) throw invalid('the token was already used');
    return { sid, sub };
  }
}

/**
 * The `iss` a logout token claims, read before it is verified, only to find the provider
 * whose keys then verify it (and check that same `iss`). Undefined when it is no JWT.
 */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const { iss } = decodeJwt(token);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

function invalid(reason: string): BadRequestError {
  return new BadRequestError('invalid_logout_token', `the logout token is not valid: ${reason}`);
}

function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'it has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the "${error.claim}" claim is not accepted`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the signature is invalid';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no provider key matches it';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'its algorithm is not accepted';
  return 'it is malformed';
}
