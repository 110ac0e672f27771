// Browser login, as one config sets it up: the providers (oidc/providers.ts), login attempts,
// sessions, the refresher and the sidecar's two cookies (the session ticket, and the login
// cookie that binds a login attempt to its browser). Built by buildRuntime when `oidc` is set;
// a provider's client (and what it discovered) survives a reload that does not change it.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type Config, servedOverHttps } from '../config/schema.ts';
import { type CookieOptions, clearCookie, readCookies, serializeCookie } from '../net/cookies.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { Sessions } from '../sessions/sessions.ts';
import type { SessionStore } from '../sessions/store.ts';
import { TicketSigner } from '../sessions/ticket.ts';
import { isBinding, LOGIN_TTL_SECONDS, LoginStates } from './login-state.ts';
import { buildProviders, type Providers } from './providers.ts';
import { SessionRefresher } from './refresh.ts';

export interface Login {
  readonly providers: Providers;
  readonly sessions: Sessions;
  readonly states: LoginStates;
  readonly refresher: SessionRefresher;
  readonly publicUrl: string;
  readonly startPath: string;
  /** Registered at the provider as the post-logout redirect URI. */
  readonly signOutUrl: string;
  readonly sessionTtlMs: number;
  readonly cookies: LoginCookies;
}

/** A request, or what an authenticator reads of one: only its Cookie header is used. */
type HasHeaders = { readonly headers: IncomingHttpHeaders };

/** Login attempts one browser can have under way at once (tabs); older ones are dropped. */
const MAX_PENDING_LOGINS = 8;

export function buildLogin(
  config: Config,
  services: { readonly logger: Logger; readonly metrics: Metrics },
  store: SessionStore,
  previous?: Login,
): Login | undefined {
  const { oidc, publicUrl, pathPrefix, session } = config;
  const secrets = session.cookie.secret;
  if (!oidc || publicUrl === undefined || secrets === undefined) return undefined; // the schema requires them
  // One redirect URI for every provider: the login state says which one a callback is for.
  const redirectUri = `${publicUrl}${pathPrefix}/callback`;
  const sessions = new Sessions(store, new TicketSigner(secrets));
  const secure = session.cookie.secure ?? servedOverHttps(config);
  return {
    providers: buildProviders(oidc, redirectUri, services, previous?.providers),
    sessions,
    states: new LoginStates(store),
    refresher: new SessionRefresher({ sessions, store, logger: services.logger, metrics: services.metrics }),
    publicUrl,
    startPath: `${pathPrefix}/start`,
    signOutUrl: `${publicUrl}${pathPrefix}/sign_out`,
    sessionTtlMs: session.ttlSeconds * 1000,
    cookies: new LoginCookies(session.cookie.name, secure, session.cookie.sameSite, session.ttlSeconds),
  };
}

/**
 * The session cookie (the ticket; Path=/, Max-Age = session.ttlSeconds) and one login cookie
 * per login attempt (`<name>_login_<12 characters of a hash of the state>`, holding the
 * attempt's binding; Max-Age = the attempt's lifetime; cleared by a successful callback). One
 * cookie per attempt, not one per browser, so that tabs starting a login at the same moment do
 * not overwrite each other's. A login cookie is never SameSite=Strict: the provider's redirect
 * back to the callback is a cross-site navigation, and a Strict cookie would not come with it.
 */
export class LoginCookies {
  readonly sessionName: string;
  private readonly loginPrefix: string;
  private readonly session: CookieOptions;
  private readonly login: CookieOptions;

  constructor(name: string, secure: boolean, sameSite: CookieOptions['sameSite'], ttlSeconds: number) {
    this.sessionName = name;
    this.loginPrefix = `${name}_login_`;
    this.session = { path: '/', secure, sameSite, maxAge: ttlSeconds };
    this.login = { path: '/', secure, sameSite: sameSite === 'none' ? 'none' : 'lax', maxAge: LOGIN_TTL_SECONDS };
  }

  /** Every value the browser sent for the session cookie (there may be several). */
  sessionValues(req: HasHeaders): string[] {
    return readCookies(req.headers.cookie, this.sessionName);
  }

  /** The binding of the login attempt `state`, when this browser holds a well-formed one. */
  binding(req: HasHeaders, state: string): string | undefined {
    return readCookies(req.headers.cookie, this.loginName(state)).find(isBinding);
  }

  setSession(value: string): string {
    return serializeCookie(this.sessionName, value, this.session);
  }

  clearSession(): string {
    return clearCookie(this.sessionName, this.session);
  }

  /**
   * Set-Cookie values for a new attempt's login cookie, and to delete the oldest of this
   * browser's pending ones beyond MAX_PENDING_LOGINS (so that abandoned attempts cannot grow
   * the Cookie header without bound).
   */
  startLogin(req: HasHeaders, state: string, binding: string): string[] {
    const pending = pendingNames(req.headers.cookie, this.loginPrefix);
    const stale = pending.slice(0, Math.max(0, pending.length - MAX_PENDING_LOGINS + 1));
    return [
      ...stale.map((name) => clearCookie(name, this.login)),
      serializeCookie(this.loginName(state), binding, this.login),
    ];
  }

  clearBinding(state: string): string {
    return clearCookie(this.loginName(state), this.login);
  }

  /** Cookies the app never receives: they are the sidecar's, and the session one is a credential. */
  isSidecarCookie = (name: string): boolean => name === this.sessionName || name.startsWith(this.loginPrefix);

  private loginName(state: string): string {
    return `${this.loginPrefix}${createHash('sha256').update(state).digest('base64url').slice(0, 12)}`;
  }
}

/** Names of the login cookies in the Cookie header, oldest first (browsers send them in creation order). */
function pendingNames(header: string | string[] | undefined, prefix: string): string[] {
  if (header === undefined) return [];
  const names = (Array.isArray(header) ? header.join(';') : header)
    .split(';')
    .map((pair) => pair.slice(0, Math.max(0, pair.indexOf('='))).trim())
    .filter((name) => name.startsWith(prefix));
  return [...new Set(names)];
}
