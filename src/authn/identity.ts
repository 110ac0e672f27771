// Who the request is, whatever proved it. Everything downstream (route rules, identity headers,
// access log) reads only this shape.
import type { AuthMethod, ClaimsConfig } from '../config/schema.ts';

export interface Identity {
  readonly user: string;
  readonly method: AuthMethod;
  readonly email?: string | undefined;
  readonly preferredUsername?: string | undefined;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
  /** Epoch milliseconds after which the credential no longer holds. */
  readonly expiresAt?: number | undefined;
  /** The provider's access token, for login sessions only (oidc.passAccessToken). */
  readonly accessToken?: string | undefined;
  /** The name of the OpenID Provider a login session came from (`allow.providers`); sessions only. */
  readonly provider?: string | undefined;
}

/** A claim by name; a dotted name that is not itself a claim reaches into objects. */
export function claimAt(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let node: unknown = claims;
  for (const part of name.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Groups come as an array of strings or as one comma-separated string. */
export function groupsFrom(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && g !== '');
  if (typeof value === 'string')
    return value
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g !== '');
  return [];
}

/** Scopes come from `scope` (space-separated) or `scp` (an array, or space-separated). */
export function scopesFrom(claims: Readonly<Record<string, unknown>>): string[] {
  const split = (v: unknown): string[] =>
    typeof v === 'string'
      ? v.split(' ').filter((s) => s !== '')
      : Array.isArray(v)
        ? v.filter((s): s is string => typeof s === 'string')
        : [];
  return [...new Set([...split(claims.scope), ...split(claims.scp)])];
}

const asString = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;

/** Some providers (Cognito for federated users) send email_verified as the string "false". */
function unverified(emailVerified: unknown): boolean {
  return emailVerified === false || (typeof emailVerified === 'string' && emailVerified.toLowerCase() === 'false');
}

/**
 * Maps verified claims to an identity, or returns null when the user claim is missing.
 * An email the provider marks unverified (email_verified: false) is not used: route rules
 * on emails must not be satisfiable by an address nobody proved to own.
 */
export function identityFromClaims(
  claims: Readonly<Record<string, unknown>>,
  names: ClaimsConfig,
  method: AuthMethod,
): Identity | null {
  const user = asString(claimAt(claims, names.user));
  if (user === undefined) return null;
  const email = unverified(claims.email_verified) ? undefined : asString(claimAt(claims, names.email));
  const exp = claims.exp;
  return {
    user,
    method,
    email,
    preferredUsername: asString(claimAt(claims, names.preferredUsername)),
    groups: groupsFrom(claimAt(claims, names.groups)),
    scopes: scopesFrom(claims),
    claims,
    expiresAt: typeof exp === 'number' ? exp * 1000 : undefined,
  };
}
