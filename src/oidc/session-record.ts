// How a login session's record is made from the provider's tokens, updated by a refresh, and
// read back as an Identity. Claim names come from the provider's `claims`, as for bearer tokens.
import { type MappedIdentity, mapClaims } from '../authn/identity.ts';
import type { SessionRecord } from '../sessions/sessions.ts';
import type { Tokens } from './provider-client.ts';
import type { Provider } from './providers.ts';

/** Refresh this long before the access token expires, or a quarter of its life if shorter. */
const REFRESH_AHEAD_MS = 60_000;

export function newRecord(
  provider: Provider,
  tokens: Tokens,
  claims: Readonly<Record<string, unknown>>,
  expiresAt: number,
): SessionRecord {
  return { issuer: provider.issuer, claims, expiresAt, ...tokenFields(tokens, undefined) };
}

/** The record after a refresh: new tokens, claims updated by a new ID token, same end. */
export function refreshedRecord(old: SessionRecord, tokens: Tokens): SessionRecord {
  return {
    issuer: old.issuer,
    claims: tokens.claims === undefined ? old.claims : { ...old.claims, ...tokens.claims },
    expiresAt: old.expiresAt,
    ...tokenFields(tokens, old),
  };
}

function tokenFields(tokens: Tokens, old: SessionRecord | undefined) {
  const now = Date.now();
  const lifetimeMs = tokens.expiresIn === undefined ? undefined : tokens.expiresIn * 1000;
  return {
    scope: tokens.scope ?? old?.scope,
    idToken: tokens.idToken ?? old?.idToken,
    accessToken: tokens.accessToken,
    // A provider that does not rotate refresh tokens sends none with a refresh: keep the old one.
    refreshToken: tokens.refreshToken ?? old?.refreshToken,
    accessExpiresAt: lifetimeMs === undefined ? undefined : now + lifetimeMs,
    refreshAt: lifetimeMs === undefined ? undefined : now + lifetimeMs - Math.min(REFRESH_AHEAD_MS, lifetimeMs / 4),
  };
}

/**
 * The identity a session of `provider` proves, or why it proves none (the configured user claim
 * is missing, or cannot be sent to the app exactly: see mapClaims).
 */
export function identityOf(record: SessionRecord, provider: Provider): MappedIdentity {
  const mapped = mapClaims(record.claims, provider.claims, 'session');
  if ('refused' in mapped) return mapped;
  const { identity } = mapped;
  const granted = record.scope?.split(' ').filter((s) => s !== '') ?? [];
  return {
    identity: {
      ...identity,
      scopes: [...new Set([...identity.scopes, ...granted])],
      expiresAt: record.expiresAt,
      // Only the provider's own setting lets its access token reach the app.
      accessToken: provider.passAccessToken ? record.accessToken : undefined,
      provider: provider.name,
    },
  };
}
