// What a 401 says about how to authenticate: one WWW-Authenticate per scheme the route accepts
// (RFC 9110 §11.6.1), with RFC 6750's error="invalid_token" when a bearer token was refused,
// and a "Cookie" challenge naming the login when the route accepts only login sessions.
import type { AuthMethod } from '../config/schema.ts';
import type { Rejection } from '../errors.ts';

export function challenges(
  methods: readonly AuthMethod[],
  realm: string,
  rejection: Rejection | undefined,
  login?: LoginChallenge,
): string[] {
  const out: string[] = [];
  for (const method of methods) {
    if (method === 'jwt') out.push(bearerChallenge(realm, rejection?.method === 'jwt' ? rejection : undefined));
    if (method === 'basic') out.push(`Basic realm="${realm}"`);
  }
  // A login session has no registered scheme. A route that accepts nothing else still names
  // how to get one, in the form of draft-broyer-http-cookie-auth ("Cookie" scheme, which no
  // browser acts on): where the login starts and which cookie carries the session.
  if (out.length === 0 && login !== undefined && methods.includes('session')) {
    out.push(`Cookie realm="${realm}", form-action="${login.startPath}", cookie-name="${login.cookies.sessionName}"`);
  }
  return out;
}

/** What the Cookie challenge names (the login's start path and the session cookie). */
export interface LoginChallenge {
  readonly startPath: string;
  readonly cookies: { readonly sessionName: string };
}

function bearerChallenge(realm: string, rejection: Rejection | undefined): string {
  if (!rejection) return `Bearer realm="${realm}"`;
  const description = rejection.description.replace(/["\\]/g, '');
  return `Bearer realm="${realm}", error="${rejection.error}", error_description="${description}"`;
}

/** RFC 6750 §3.1: a valid token that lacks the scopes the route requires (sent with a 403). */
export function insufficientScopeChallenge(realm: string, scopes: readonly string[]): string {
  const scope = scopes.join(' ').replace(/["\\]/g, '');
  return `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"`;
}
