// Typed errors with stable codes. Everything the request path throws on purpose is a
// SidecarError; the error boundary renders it. Anything else is a bug and becomes a 500.
import type { AuthMethod } from './config/schema.ts';

export type HeaderValues = Record<string, string | string[]>;

export interface SidecarErrorOptions {
  headers?: HeaderValues;
  cause?: unknown;
}

export class SidecarError extends Error {
  /** Stable, machine-readable: callers and tests switch on it, never on the message. */
  readonly code: string;
  readonly status: number;
  /** Whether the message may be shown to the client (never for 5xx details). */
  readonly expose: boolean;
  readonly headers: HeaderValues;

  constructor(status: number, code: string, message: string, options: SidecarErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.expose = status < 500;
    this.headers = options.headers ?? {};
  }
}

/** Malformed input: always a 4xx, never a crash. */
export class BadRequestError extends SidecarError {
  constructor(code: string, message: string, status = 400) {
    super(status, code, message);
  }
}

/** Why a credential that was sent was refused; feeds the challenge (RFC 6750 error="..."). */
export interface Rejection {
  method: AuthMethod;
  /** invalid_token or invalid_request, as RFC 6750 names them (the Bearer challenge's error). */
  error: 'invalid_token' | 'invalid_request';
  description: string;
  /** The stable code of the answer when it is not `error` (invalid_credentials, invalid_session). */
  code?: string;
}

export class UnauthorizedError extends SidecarError {
  /** Set when a credential was sent and refused; absent when none was sent. */
  readonly rejection: Rejection | undefined;

  constructor(rejection?: Rejection, options: SidecarErrorOptions = {}) {
    super(
      401,
      rejection ? (rejection.code ?? rejection.error) : 'unauthenticated',
      rejection?.description ?? 'authentication required',
      options,
    );
    this.rejection = rejection;
  }
}

export class ForbiddenError extends SidecarError {
  constructor(message = 'not allowed by the route rules', code = 'forbidden', options: SidecarErrorOptions = {}) {
    super(403, code, message, options);
  }
}

export class TooManyAttemptsError extends SidecarError {
  constructor(retryAfterSeconds: number) {
    super(429, 'too_many_attempts', 'too many failed attempts; try again later', {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}

export class UpstreamError extends SidecarError {
  constructor(kind: 'unavailable' | 'timeout', cause?: unknown) {
    super(
      kind === 'timeout' ? 504 : 502,
      kind === 'timeout' ? 'upstream_timeout' : 'upstream_unavailable',
      kind === 'timeout' ? 'the application did not answer in time' : 'the application is not reachable',
      { cause },
    );
  }
}

/** A dependency (session store, JWKS) is down: tell the client to retry, never loop a login. */
export class ServiceUnavailableError extends SidecarError {
  constructor(code: string, message: string, cause?: unknown, retryAfterSeconds = 1) {
    super(503, code, message, { headers: { 'Retry-After': String(retryAfterSeconds) }, cause });
  }
}

/** The client went away before the app answered; logged as 499, as nginx does. */
export class ClientClosedError extends SidecarError {
  constructor() {
    super(499, 'client_closed', 'the client closed the request');
  }
}

export class NotFoundError extends SidecarError {
  constructor() {
    super(404, 'not_found', 'no such endpoint');
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
