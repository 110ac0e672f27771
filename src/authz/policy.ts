// The route's `allow` rules, as pure functions of the identity and the client address. Across
// keys all must hold; within users, emails, emailDomains, groups, providers and sourceCidrs any
// value matches; every listed claim must hold one of its values; every listed scope is required.
// Only a login session has a provider: `providers` never matches a bearer or basic identity.
// Scopes are checked last, so that "insufficient_scope" is only said when a token with more
// scopes would be let in. sourceCidrs is checked on its own (admitsAddress), before any
// credential is asked for: a client from elsewhere is refused whoever it is.
import { claimAt, type Identity } from '../authn/identity.ts';
import type { AddressList } from '../net/address.ts';
import type { Allow } from './route-table.ts';

type IdentityRule = 'users' | 'emails' | 'emailDomains' | 'groups' | 'providers' | 'claims';

export type Denial =
  | { readonly allow: false; readonly rule: IdentityRule | 'sourceCidrs'; readonly reason: string }
  | { readonly allow: false; readonly rule: 'scopes'; readonly reason: string; readonly missingScopes: string[] };

export type Verdict = { readonly allow: true; readonly reason: string } | Denial;

export function evaluate(identity: Identity, allow: Allow | undefined): Verdict {
  if (allow === undefined) return { allow: true, reason: 'the route has no allow rules' };
  const held: string[] = [];
  if (allow.users) {
    if (!allow.users.includes(identity.user)) return deny('users', `user "${identity.user}" is not listed`);
    held.push('user is listed');
  }
  const email = identity.email?.toLowerCase();
  if (allow.emails) {
    if (email === undefined) return deny('emails', 'the identity has no (verified) email');
    if (!allow.emails.some((e) => e.toLowerCase() === email)) return deny('emails', `email "${email}" is not listed`);
    held.push('email is listed');
  }
  if (allow.emailDomains) {
    const domain = email === undefined ? undefined : emailDomain(email);
    if (domain === undefined) return deny('emailDomains', 'the identity has no well-formed (verified) email');
    if (!allow.emailDomains.some((d) => d.toLowerCase() === domain)) {
      return deny('emailDomains', `email domain "${domain}" is not listed`);
    }
    held.push('email domain is listed');
  }
  if (allow.groups) {
    if (!allow.groups.some((g) => identity.groups.includes(g))) return deny('groups', 'no listed group');
    held.push('a listed group is held');
  }
  if (allow.providers) {
    const { provider } = identity;
    if (provider === undefined) return deny('providers', `a ${identity.method} identity comes from no login provider`);
    if (!allow.providers.includes(provider)) return deny('providers', `provider "${provider}" is not listed`);
    held.push('the login provider is listed');
  }
  if (allow.claims) {
    for (const [name, values] of Object.entries(allow.claims)) {
      if (!claimHolds(claimAt(identity.claims, name), values)) {
        return deny('claims', `claim "${name}" holds none of the listed values`);
      }
    }
    held.push('every listed claim holds');
  }
  if (allow.scopes) {
    const missingScopes = allow.scopes.filter((s) => !identity.scopes.includes(s));
    if (missingScopes.length > 0) {
      return { allow: false, rule: 'scopes', reason: `missing scope ${missingScopes.join(', ')}`, missingScopes };
    }
    held.push('every listed scope is held');
  }
  if (held.length > 0) return { allow: true, reason: held.join('; ') };
  return { allow: true, reason: allow.sourceCidrs ? 'any identity' : 'the allow rules are empty' };
}

/** The domain of a well-formed address: exactly one "@", something on both sides. */
export function emailDomain(email: string): string | undefined {
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@') || at === email.length - 1) return undefined;
  return email.slice(at + 1).toLowerCase();
}

// Built once: the request path asks on every request, and a route without sourceCidrs must cost nothing.
const FROM_ANYWHERE: Verdict = Object.freeze({ allow: true, reason: 'the route takes clients from any address' });
const LISTED_ADDRESS: Verdict = Object.freeze({ allow: true, reason: 'the client address is listed' });

/** allow.sourceCidrs: whether the client address (as trustedProxies resolve it) is listed. */
export function admitsAddress(sources: AddressList | undefined, clientAddress: string): Verdict {
  if (sources === undefined) return FROM_ANYWHERE;
  if (sources.has(clientAddress)) return LISTED_ADDRESS;
  return deny('sourceCidrs', `client address ${clientAddress || '(unknown)'} is not in sourceCidrs`);
}

/**
 * A claim holds a listed value when it equals one, or, for an array claim, when one of its
 * elements does: exactly, type included (the number 3 is not the string "3"), case-sensitive.
 */
function claimHolds(claim: unknown, values: readonly unknown[]): boolean {
  if (Array.isArray(claim)) return claim.some((element) => values.includes(element));
  return claim !== undefined && values.includes(claim);
}

function deny(rule: IdentityRule | 'sourceCidrs', reason: string): Verdict {
  return { allow: false, rule, reason };
}
