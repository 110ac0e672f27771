// Login sessions (method "session"): the session cookie's ticket must carry a valid signature
// and name a session that the store still holds and the ticket's key unseals. A cookie that
// fails any of this (forged, altered, signed out, expired, ended by the provider) is refused
// with 401 (a browser navigation is sent to the login instead) and cleared, and so is a
// session whose provider is no longer configured. When the store does not answer, the request
// gets 503: never a login loop. The access token is refreshed at the session's own provider
// shortly before it expires (oidc/refresh.ts).
import type { Authenticator, AuthRequest } from '../authn/authenticator.ts';
import type { Identity } from '../authn/identity.ts';
import { type RefusalReason, UnauthorizedError } from '../errors.ts';
import type { Login } from './login.ts';
import { identityOf } from './session-record.ts';

export class SessionAuthenticator implements Authenticator {
  readonly method = 'session';
  private readonly login: Login;

  constructor(login: Login) {
    this.login = login;
  }

  async authenticate(request: AuthRequest): Promise<Identity | null> {
    const values = this.login.cookies.sessionValues(request);
    if (values.length === 0) return null;
    const session = await this.login.sessions.load(values);
    if (session === undefined) throw this.reject('session_invalid', 'the session is not valid or has ended');
    // A session whose provider was removed from the config ends with it.
    const provider = this.login.providers.recorded(session.record.issuer);
    if (provider === undefined)
      throw this.reject('session_ended', 'the provider of the session is no longer configured');
    const record = await this.login.refresher.current(session, provider.client);
    if (record === undefined) throw this.reject('session_ended', 'the session has ended');
    // Claims that name no user the app can be told (a refresh may bring new ones) are no session.
    const mapped = identityOf(record, provider);
    if ('refused' in mapped) throw this.reject('no_user_claim', 'the session names no user');
    return mapped.identity;
  }

  private reject(reason: RefusalReason, description: string): UnauthorizedError {
    return new UnauthorizedError(
      { method: 'session', error: 'invalid_token', code: 'invalid_session', reason, description },
      { headers: { 'set-cookie': this.login.cookies.clearSession() } },
    );
  }
}
