// The OpenID Provider, through openid-client (certified; the protocol is never hand-written
// here). Discovery happens on first use and is remembered; the ID token's signature is
// verified too (enableNonRepudiationChecks), not only its claims. Errors from openid-client are
// translated once, here, into the sidecar's coded errors:
// - the provider cannot be reached or fails (network, timeout, 5xx) → 503 + Retry-After;
// - the provider refuses (an OAuth error) or a check fails (state, nonce, iss, signature) →
//   400, and never a session.
import {
  AuthorizationResponseError,
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  buildEndSessionUrl,
  type ClientAuth,
  ClientSecretBasic,
  ClientSecretPost,
  Configuration,
  discovery,
  enableNonRepudiationChecks,
  fetchUserInfo,
  None,
  ResponseBodyError,
  refreshTokenGrant,
  type ServerMetadata,
  type TokenEndpointResponse,
  type TokenEndpointResponseHelpers,
} from 'openid-client';
import { ServiceUnavailableError, SidecarError } from '../errors.ts';
import { failureReason } from '../observability/failure-reason.ts';
import type { Logger } from '../observability/logger.ts';

export interface OidcClientOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly logger: Logger;
  /** Longest wait for any one request to the provider. */
  readonly timeoutSeconds?: number;
  /** After a failed discovery, requests get 503 at once for this long before it is tried again. */
  readonly retryAfterMs?: number;
  /** Told the outcome of every discovery attempt (for metrics). */
  readonly onDiscovery?: (result: 'success' | 'failure') => void;
}

/** Where discovery stands, for /readyz: found, not yet tried or under way, or failed (why). */
export type DiscoveryStatus = { state: 'found' } | { state: 'pending' } | { state: 'failed'; reason: string };

/** What a token response gave, in the shape the sidecar keeps. */
export interface Tokens {
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  readonly idToken: string | undefined;
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  /** Seconds, when the provider said. */
  readonly expiresIn: number | undefined;
  readonly scope: string | undefined;
}

export type RefreshResult = { ok: true; tokens: Tokens } | { ok: false; refused: boolean; reason: string };

const RETRY_AFTER_SECONDS = 5;

export function providerUnavailable(cause?: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'oidc_provider_unavailable',
    'the identity provider is not reachable; try again shortly',
    cause,
    RETRY_AFTER_SECONDS,
  );
}

export class OidcClient {
  readonly options: OidcClientOptions;
  private configuration: Configuration | undefined;
  private discovering: Promise<Configuration> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;
  private failure: string | undefined;

  constructor(options: OidcClientOptions) {
    this.options = options;
  }

  /** Discovers the provider now (at start-up), so that a wrong issuer shows in the log at once. */
  prefetch(): void {
    this.config().catch(() => {}); // logged by discover(); requests retry
  }

  /**
   * Where discovery stands. A failed one is tried again in the background once its retry
   * delay has passed, so that a probe sees the provider come back without a login to ask.
   */
  discoveryStatus(): DiscoveryStatus {
    if (this.configuration) return { state: 'found' };
    if (this.failure === undefined) return { state: 'pending' };
    if (!this.discovering) this.prefetch();
    return { state: 'failed', reason: this.failure };
  }

  /** The URL discovery reads (openid-client appends the well-known path to the issuer). */
  get discoveryUrl(): string {
    return `${this.options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  }

  /** The provider's metadata, discovering it on first use. Throws 503 when that fails. */
  async metadata(): Promise<Readonly<ServerMetadata>> {
    return (await this.config()).serverMetadata();
  }

  async authorizationUrl(checks: { state: string; nonce: string; codeChallenge: string }): Promise<URL> {
    const config = await this.config();
    return buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: this.options.scopes.join(' '),
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: checks.codeChallenge,
      code_challenge_method: 'S256',
    });
  }

  /** The authorization response (the callback's query) exchanged for verified tokens. */
  async exchange(
    callbackQuery: string,
    checks: { expectedState: string; expectedNonce: string; pkceCodeVerifier: string },
  ): Promise<Tokens> {
    const config = await this.config();
    const currentUrl = new URL(this.options.redirectUri);
    currentUrl.search = callbackQuery;
    try {
      return tokensOf(await authorizationCodeGrant(config, currentUrl, { ...checks, idTokenExpected: true }));
    } catch (error) {
      throw loginError(error);
    }
  }

  async refresh(refreshToken: string): Promise<RefreshResult> {
    try {
      const config = await this.config();
      return { ok: true, tokens: tokensOf(await refreshTokenGrant(config, refreshToken)) };
    } catch (error) {
      const refused = classify(error) === 'refused';
      return { ok: false, refused, reason: reasonOf(error) };
    }
  }

  /** Claims from the userinfo endpoint, for the subject the ID token named; {} without one. */
  async userinfo(accessToken: string, subject: string): Promise<Record<string, unknown>> {
    const config = await this.config();
    if (config.serverMetadata().userinfo_endpoint === undefined) return {};
    try {
      return { ...(await fetchUserInfo(config, accessToken, subject)) };
    } catch (error) {
      throw loginError(error);
    }
  }

  /** Where to send the browser to end the provider's session too; undefined when it cannot. */
  async endSessionUrl(parameters: {
    idTokenHint: string | undefined;
    postLogoutRedirectUri: string;
    state: string;
  }): Promise<URL | undefined> {
    let config: Configuration;
    try {
      config = await this.config();
    } catch {
      return undefined;
    }
    if (config.serverMetadata().end_session_endpoint === undefined) return undefined;
    return buildEndSessionUrl(config, {
      ...(parameters.idTokenHint === undefined ? {} : { id_token_hint: parameters.idTokenHint }),
      client_id: this.options.clientId,
      post_logout_redirect_uri: parameters.postLogoutRedirectUri,
      state: parameters.state,
    });
  }

  private config(): Promise<Configuration> {
    if (this.configuration) return Promise.resolve(this.configuration);
    if (this.discovering) return this.discovering;
    if (Date.now() - this.failedAt < (this.options.retryAfterMs ?? 5000)) return Promise.reject(providerUnavailable());
    this.discovering = this.discover().finally(() => {
      this.discovering = undefined;
    });
    return this.discovering;
  }

  private async discover(): Promise<Configuration> {
    const { issuer, clientId, clientSecret, logger } = this.options;
    const insecure = new URL(issuer).protocol === 'http:';
    const timeout = this.options.timeoutSeconds ?? 10;
    try {
      const found = await discovery(new URL(issuer), clientId, undefined, None(), {
        timeout,
        ...(insecure ? { execute: [allowInsecureRequests] } : {}),
      });
      const server = found.serverMetadata();
      const config = new Configuration(
        server,
        clientId,
        clientSecret === undefined ? {} : { client_secret: clientSecret },
        clientAuthentication(server, clientSecret),
      );
      config.timeout = timeout;
      if (insecure) allowInsecureRequests(config);
      enableNonRepudiationChecks(config);
      this.configuration = config;
      this.failure = undefined;
      this.options.onDiscovery?.('success');
      if (insecure) logger.warn({ issuer }, 'the OpenID Provider is reached over plain http');
      return config;
    } catch (error) {
      this.failedAt = Date.now();
      this.failure = `${this.discoveryUrl}: ${reasonOf(error)}`;
      this.options.onDiscovery?.('failure');
      logger.warn({ issuer, url: this.discoveryUrl, reason: reasonOf(error) }, 'OpenID Provider discovery failed');
      throw providerUnavailable(error);
    }
  }
}

/** client_secret_basic (the OAuth default) unless the provider supports only client_secret_post. */
function clientAuthentication(server: ServerMetadata, secret: string | undefined): ClientAuth {
  if (secret === undefined) return None();
  const supported = server.token_endpoint_auth_methods_supported;
  if (supported && !supported.includes('client_secret_basic') && supported.includes('client_secret_post')) {
    return ClientSecretPost(secret);
  }
  return ClientSecretBasic(secret);
}

function tokensOf(response: TokenEndpointResponse & TokenEndpointResponseHelpers): Tokens {
  const claims = response.claims();
  return {
    claims: claims === undefined ? undefined : { ...claims },
    idToken: response.id_token,
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    expiresIn: response.expiresIn(),
    scope: response.scope,
  };
}

type Failure = 'unavailable' | 'refused' | 'provider_error' | 'invalid';

function classify(error: unknown): Failure {
  if (error instanceof ServiceUnavailableError) return 'unavailable';
  if (error instanceof AuthorizationResponseError) return 'provider_error';
  if (error instanceof ResponseBodyError) return error.status >= 500 ? 'unavailable' : 'refused';
  const code = (error as { code?: unknown }).code;
  if (error instanceof TypeError && (typeof code !== 'string' || !code.startsWith('ERR_INVALID'))) return 'unavailable';
  if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT' || code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') {
    return 'unavailable';
  }
  return 'invalid';
}

/**
 * A short reason for logs, never a token: the OAuth error code, openid-client's code, or the
 * message with its causes (a failed fetch says why: `fetch failed: bad port`).
 */
export function reasonOf(error: unknown): string {
  if (error instanceof ResponseBodyError || error instanceof AuthorizationResponseError) return error.error;
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && code.startsWith('OAUTH_') ? code : failureReason(error);
}

const PROVIDER_ERROR_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

function loginError(error: unknown): Error {
  switch (classify(error)) {
    case 'unavailable':
      return error instanceof ServiceUnavailableError ? error : providerUnavailable(error);
    case 'provider_error': {
      const code = (error as AuthorizationResponseError).error;
      const shown = PROVIDER_ERROR_CODE.test(code) ? ` (${code})` : '';
      return new SidecarError('provider_error', `the identity provider did not complete the login${shown}`, {
        cause: error,
      });
    }
    case 'refused':
      return new SidecarError('login_failed', 'the identity provider refused the login code', { cause: error });
    default:
      return new SidecarError('login_failed', 'the login response did not pass verification', { cause: error });
  }
}
