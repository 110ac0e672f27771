// Typed errors with stable codes. Everything the request path throws on purpose is a
// SidecarError whose code is one of ERROR_CODES; the error boundary renders it. Anything else
// is a bug and becomes a 500. The codes are the `error` of every JSON answer and are listed in
// the README: a client or a test may switch on them, never on a message.
import type { AuthMethod } from './auth-methods.ts';

/**
 * Every code an answer can carry, with the status it is usually sent with (invalid_request is
 * also the 401 of a malformed basic credential, as RFC 6750 names it). Closed: add here first.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_path: 400,
  ambiguous_path: 400,
  duplicate_authorization: 400,
  duplicate_host: 400,
  login_failed: 400,
  provider_error: 400,
  login_state_missing: 400,
  login_state_mismatch: 400,
  login_state_invalid: 400,
  invalid_logout_token: 400,
  unknown_provider: 400,
  unauthenticated: 401,
  invalid_token: 401,
  invalid_credentials: 401,
  invalid_session: 401,
  invalid_client_certificate: 401,
  forbidden: 403,
  insufficient_scope: 403,
  ambiguous_forwarded_uri: 403,
  invalid_forwarded_method: 403,
  not_found: 404,
  method_not_allowed: 405,
  too_many_attempts: 429,
  client_closed: 499,
  internal_error: 500,
  upstream_unavailable: 502,
  jwks_unavailable: 503,
  session_store_unavailable: 503,
  oidc_provider_unavailable: 503,
  upstream_timeout: 504,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/**
 * Why a credential was refused, finer than the answer's code: what the access log and the
 * refusals metric say, so that "why was I refused" is answered from the logs. Never sent.
 */
export const REFUSAL_REASONS = [
  'no_credentials',
  'malformed_token',
  'wrong_token_type',
  'token_expired',
  'token_not_yet_valid',
  'bad_signature',
  'unknown_kid',
  'alg_not_allowed',
  'wrong_issuer',
  'wrong_audience',
  'missing_claim',
  'no_user_claim',
  'unsupported_key',
  'malformed_credentials',
  'wrong_password',
  'session_invalid',
  'session_ended',
  'certificate_unverified',
  'locked_out',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** What the access line's `error` and the refusals metric say: the reason when there is one, else the code. */
export type RefusalCode = ErrorCode | RefusalReason;

export type HeaderValues = Record<string, string | string[]>;

export interface SidecarErrorOptions {
  headers?: HeaderValues;
  cause?: unknown;
  /** The finer reason, for the log line and the refusals metric. */
  reason?: RefusalReason;
}

export class SidecarError extends Error {
  // Spelled out: the production bundle shortens class names (scripts/build.ts).
  override readonly name: string = 'SidecarError';
  /** Stable, machine-readable: callers and tests switch on it, never on the message. */
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: HeaderValues;
  readonly reason: RefusalReason | undefined;

  /** The finest code for the log and the refusals metric. */
  get refusal(): RefusalCode {
    return this.reason ?? this.code;
  }

  /** The message is always safe to show: 5xx messages are fixed sentences, never a cause's text. */
  constructor(code: ErrorCode, message: string, options: SidecarErrorOptions & { status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.headers = options.headers ?? {};
    this.reason = options.reason;
  }
}

/** Malformed input: always a 4xx, never a crash. `status` only for 413/415 variants. */
export class BadRequestError extends SidecarError {
  override readonly name: string = 'BadRequestError';
  constructor(code: ErrorCode, message: string, status?: number) {
    super(code, message, status === undefined ? {} : { status });
  }
}

/** Why a credential that was sent was refused; feeds the challenge (RFC 6750 error="..."). */
export interface Rejection {
  method: AuthMethod;
  /** invalid_token or invalid_request, as RFC 6750 names them (the Bearer challenge's error). */
  error: 'invalid_token' | 'invalid_request';
  description: string;
  reason: RefusalReason;
  /** The answer's code when it is not `error` (invalid_credentials, invalid_session). */
  code?: 'invalid_credentials' | 'invalid_session' | 'invalid_client_certificate';
}

export class UnauthorizedError extends SidecarError {
  override readonly name: string = 'UnauthorizedError';
  /** Set when a credential was sent and refused; absent when none was sent. */
  readonly rejection: Rejection | undefined;

  constructor(rejection?: Rejection, options: SidecarErrorOptions = {}) {
    super(
      rejection ? (rejection.code ?? rejection.error) : 'unauthenticated',
      rejection?.description ?? 'authentication required',
      { ...options, status: 401, reason: rejection?.reason ?? 'no_credentials' },
    );
    this.rejection = rejection;
  }
}

export class ForbiddenError extends SidecarError {
  override readonly name: string = 'ForbiddenError';
  constructor(
    message = 'not allowed by the route rules',
    code: ErrorCode = 'forbidden',
    options: SidecarErrorOptions = {},
  ) {
    super(code, message, { ...options, status: 403 });
  }
}

export class TooManyAttemptsError extends SidecarError {
  override readonly name: string = 'TooManyAttemptsError';
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super('too_many_attempts', 'too many failed attempts; try again later', {
      headers: { 'Retry-After': String(seconds) },
      reason: 'locked_out',
    });
    this.retryAfterSeconds = seconds;
  }
}

export class UpstreamError extends SidecarError {
  override readonly name: string = 'UpstreamError';
  constructor(kind: 'unavailable' | 'timeout', cause?: unknown) {
    super(
      kind === 'timeout' ? 'upstream_timeout' : 'upstream_unavailable',
      kind === 'timeout' ? 'the application did not answer in time' : 'the application is not reachable',
      { cause },
    );
  }
}

/** A dependency (session store, JWKS) is down: tell the client to retry, never loop a login. */
export class ServiceUnavailableError extends SidecarError {
  override readonly name: string = 'ServiceUnavailableError';
  constructor(code: ErrorCode, message: string, cause?: unknown, retryAfterSeconds = 1) {
    super(code, message, { headers: { 'Retry-After': String(retryAfterSeconds) }, cause });
  }
}

/** The client went away before the app answered; logged as 499, as nginx does. */
export class ClientClosedError extends SidecarError {
  override readonly name: string = 'ClientClosedError';
  constructor() {
    super('client_closed', 'the client closed the request');
  }
}

export class NotFoundError extends SidecarError {
  override readonly name: string = 'NotFoundError';
  constructor() {
    super('not_found', 'no such endpoint');
  }
}

/** An invalid configuration: one `config: key.path: reason` line per problem. Exit code 78. */
export class ConfigError extends Error {
  readonly lines: readonly string[];

  constructor(lines: readonly string[]) {
    super(lines.join('\n'));
    this.name = 'ConfigError';
    this.lines = lines;
  }
}

export const EXIT_CONFIG = 78;
export const EXIT_USAGE = 64;
