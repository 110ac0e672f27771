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

// C0 controls, DEL and the C1 controls: no header may carry them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL_CHARACTER = /[\x00-\x1f\x7f-\x9f]/;
/** A lone UTF-16 surrogate: UTF-8 cannot encode it, it would arrive as U+FFFD. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether a claim's text reaches the app exactly as it is in the claim: no control character
 * (no header may carry one), no surrounding whitespace (HTTP parsers drop it), no lone
 * surrogate, not empty.
 */
function exactInHeader(text: string): boolean {
  return text !== '' && text.trim() === text && !CONTROL_CHARACTER.test(text) && !LONE_SURROGATE.test(text);
}

/**
 * A claim as the text of an identityHeaders header, or undefined when it sends none: a string
 * as it is, a number or boolean as text, an array of strings joined with "," (elements that
 * hold a comma, or cannot be sent exactly, are left out: "x,admins" would read as two items).
 * An absent claim, an object, or a string that cannot be sent exactly sends no header.
 */
export function claimHeaderText(value: unknown): string | undefined {
  if (typeof value === 'string') return exactInHeader(value) ? value : undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'boolean') return String(value);
  if (!Array.isArray(value)) return undefined;
  const items = value.filter((v): v is string => typeof v === 'string' && !v.includes(',') && exactInHeader(v));
  return items.length > 0 ? items.join(',') : undefined;
}
