// The closed list of answer codes: each has one status, each is documented, and a caller can
// switch on them exhaustively (the compiler refuses a switch that forgets one).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  ERROR_STATUS,
  type ErrorCode,
  REFUSAL_REASONS,
  SidecarError,
  TooManyAttemptsError,
  UnauthorizedError,
} from './errors.ts';

/** What a client should do about each code: the exhaustive switch the issue asks a test to make. */
function advice(code: ErrorCode): 'fix the request' | 'authenticate' | 'give up' | 'retry' | 'report' {
  switch (code) {
    case 'invalid_request':
    case 'invalid_path':
    case 'ambiguous_path':
    case 'duplicate_authorization':
    case 'duplicate_host':
    case 'not_found':
    case 'method_not_allowed':
    case 'ambiguous_forwarded_uri':
    case 'invalid_forwarded_method':
    case 'invalid_logout_token':
    case 'unknown_provider':
      return 'fix the request';
    case 'unauthenticated':
    case 'invalid_token':
    case 'invalid_credentials':
    case 'invalid_session':
    case 'invalid_client_certificate':
    case 'login_failed':
    case 'provider_error':
    case 'login_state_missing':
    case 'login_state_mismatch':
    case 'login_state_invalid':
      return 'authenticate';
    case 'forbidden':
    case 'insufficient_scope':
    case 'client_closed':
      return 'give up';
    case 'too_many_attempts':
    case 'upstream_unavailable':
    case 'upstream_timeout':
    case 'jwks_unavailable':
    case 'session_store_unavailable':
    case 'oidc_provider_unavailable':
      return 'retry';
    case 'internal_error':
      return 'report';
    default: {
      const unhandled: never = code;
      throw new Error(`no advice for ${String(unhandled)}`);
    }
  }
}

const DOCS = [
  readFileSync(join(import.meta.dirname, '../README.md'), 'utf8'),
  ...readdirSync(join(import.meta.dirname, '../docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => readFileSync(join(import.meta.dirname, '../docs', name), 'utf8')),
].join('\n');

describe('error codes', () => {
  it('are a closed list that a switch covers, each with its status class', () => {
    for (const code of ERROR_CODES) {
      const status = ERROR_STATUS[code];
      const expected = { 'fix the request': 4, authenticate: 4, 'give up': 4, retry: status >= 500 ? 5 : 4, report: 5 };
      expect(Math.floor(status / 100), code).toBe(expected[advice(code)]);
    }
  });

  it('are each documented for users', () => {
    const missing = ERROR_CODES.filter((code) => !new RegExp(`\\b${code}\\b`).test(DOCS));
    expect(missing).toEqual([]);
  });

  it('give each error its status, and 401 to every refused credential', () => {
    expect(new SidecarError('upstream_timeout', 'x').status).toBe(504);
    const malformed = new UnauthorizedError({
      method: 'basic',
      error: 'invalid_request',
      reason: 'malformed_credentials',
      description: 'the credentials are not base64',
    });
    expect([malformed.status, malformed.code, malformed.reason]).toEqual([
      401,
      'invalid_request',
      'malformed_credentials',
    ]);
    expect(new UnauthorizedError().reason).toBe('no_credentials');
    expect(new TooManyAttemptsError(0.2).headers).toEqual({ 'Retry-After': '1' });
  });

  it('have refusal reasons that are distinct from one another', () => {
    expect(new Set(REFUSAL_REASONS).size).toBe(REFUSAL_REASONS.length);
  });
});
