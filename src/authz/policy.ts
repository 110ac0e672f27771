// The route's `allow` rules, as a pure function of the identity. Across keys all must hold;
// within users, emails, emailDomains, groups and providers any value matches; every listed
// scope is required. Only a login session has a provider: `providers` never matches a bearer
// or basic identity. Scopes are checked last, so that "insufficient_scope" is only said when
// a token with more scopes would be let in.
import type { Identity } from '../authn/identity.ts';
import type { Allow } from './route-table.ts';

export type Denial =
  | { readonly allow: false; readonly rule: ListRule; readonly reason: string }
  | { readonly allow: false; readonly rule: 'scopes'; readonly reason: string; readonly missingScopes: string[] };

type ListRule = 'users' | 'emails' | 'emailDomains' | 'groups' | 'providers';

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
  if (allow.scopes) {
    const missingScopes = allow.scopes.filter((s) => !identity.scopes.includes(s));
    if (missingScopes.length > 0) {
      return { allow: false, rule: 'scopes', reason: `missing scope ${missingScopes.join(', ')}`, missingScopes };
    }
    held.push('every listed scope is held');
  }
  return { allow: true, reason: held.length > 0 ? held.join('; ') : 'the allow rules are empty' };
}

/** The domain of a well-formed address: exactly one "@", something on both sides. */
export function emailDomain(email: string): string | undefined {
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@') || at === email.length - 1) return undefined;
  return email.slice(at + 1).toLowerCase();
}

function deny(rule: ListRule, reason: string): Verdict {
  return { allow: false, rule, reason };
}
