// Who the request is, whatever proved it. Everything downstream (route rules, identity headers,
// forward-auth answers, userinfo, access log) reads only this shape, and every value in it can be
// sent in a header exactly as it is, so that the app and the rules never see two identities.
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

/**
 * Groups come as an array of strings or as one comma-separated string. A group that cannot be
 * sent exactly (see unsendable) is left out, and so is one with a comma: it cannot be one item
 * of X-Forwarded-Groups, where "x,admins" would read as the group "admins".
 */
export function groupsFrom(value: unknown): string[] {
  const items = Array.isArray(value)
    ? value.filter((g): g is string => typeof g === 'string')
    : typeof value === 'string'
      ? value.split(',').map((g) => g.trim())
      : [];
  return items.filter((g) => g !== '' && !g.includes(',') && unsendable(g) === undefined);
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

/** Longest user name, email, group or preferred username the app receives, in UTF-8 bytes. */
export const MAX_IDENTITY_VALUE_BYTES = 256;
// C0 controls, DEL and the C1 controls: no header may carry them, and some apps strip them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
/** A lone UTF-16 surrogate: UTF-8 cannot encode it, it would arrive as U+FFFD. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * What keeps a value from reaching the app exactly as the route rules saw it (a phrase that
 * follows "has"), or undefined when nothing does.
 * A header cannot carry control characters, and HTTP parsers drop surrounding whitespace: sent
 * anyway, "ali\u0000ce" or " admins" would arrive as another identity ("alice", "admins").
 * Values are never rewritten to fit; one that does not fit is not used.
 */
export function unsendable(value: string): string | undefined {
  if (CONTROL.test(value)) return 'a control character';
  if (value.trim() !== value) return 'leading or trailing whitespace';
  if (LONE_SURROGATE.test(value)) return 'a lone UTF-16 surrogate';
  if (Buffer.byteLength(value, 'utf8') > MAX_IDENTITY_VALUE_BYTES) return `more than ${MAX_IDENTITY_VALUE_BYTES} bytes`;
  return undefined;
}

/** A claim that is used only when it can be sent exactly; otherwise the identity goes without it. */
const sendableOrNone = (value: string | undefined): string | undefined =>
  value === undefined || unsendable(value) !== undefined ? undefined : value;

/** Some providers (Cognito for federated users) send email_verified as the string "false". */
function unverified(emailVerified: unknown): boolean {
  return emailVerified === false || (typeof emailVerified === 'string' && emailVerified.toLowerCase() === 'false');
}

/** An identity, or why the claims give none: a phrase that follows "the token" ("has no sub claim"). */
export type MappedIdentity = { readonly identity: Identity } | { readonly refused: string };

/**
 * Maps verified claims to an identity. There is none when the user claim is missing or cannot
 * be sent exactly: the app would get another user name than the one the rules judged. An email,
 * preferred username or group that cannot be sent exactly is left out. An email the provider
 * marks unverified (email_verified: false) is not used: route rules on emails must not be
 * satisfiable by an address nobody proved to own.
 */
export function mapClaims(
  claims: Readonly<Record<string, unknown>>,
  names: ClaimsConfig,
  method: AuthMethod,
): MappedIdentity {
  const user = asString(claimAt(claims, names.user));
  if (user === undefined) return { refused: `has no ${names.user} claim` };
  const problem = unsendable(user);
  if (problem !== undefined) return { refused: `has a ${names.user} claim with ${problem}` };
  const email = unverified(claims.email_verified) ? undefined : asString(claimAt(claims, names.email));
  const exp = claims.exp;
  const identity: Identity = {
    user,
    method,
    email: sendableOrNone(email),
    preferredUsername: sendableOrNone(asString(claimAt(claims, names.preferredUsername))),
    groups: groupsFrom(claimAt(claims, names.groups)),
    scopes: scopesFrom(claims),
    claims,
    expiresAt: typeof exp === 'number' ? exp * 1000 : undefined,
  };
  return { identity };
}

/** mapClaims, for callers that need only whether there is an identity. */
export function identityFromClaims(
  claims: Readonly<Record<string, unknown>>,
  names: ClaimsConfig,
  method: AuthMethod,
): Identity | null {
  const mapped = mapClaims(claims, names, method);
  return 'identity' in mapped ? mapped.identity : null;
}

/** Whether a claim's text reaches the app exactly as it is in the claim (see unsendable), and is not empty. */
function exactInHeader(text: string): boolean {
  return text !== '' && unsendable(text) === undefined;
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
