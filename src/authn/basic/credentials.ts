// Decodes the credentials of an `Authorization: Basic` header (RFC 7617): base64 of
// "user:password", split at the first colon (so a password may contain colons). The user name
// must be UTF-8 text; the password stays raw bytes, hashed exactly as sent, as Apache does.
// Anything malformed is refused before any hash work or store access.
import { UnauthorizedError } from '../../errors.ts';

export interface BasicCredentials {
  readonly user: string;
  readonly password: Buffer;
  /** The decoded "user:password" bytes: what the verified-credential cache is keyed on. */
  readonly raw: Buffer;
}

/** Far above any real user name and password; a longer header is refused unread. */
export const MAX_ENCODED_LENGTH = 4096;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const COLON = 0x3a;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL = /[\x00-\x1f\x7f]/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function parseBasicCredentials(encoded: string): BasicCredentials {
  if (encoded.length > MAX_ENCODED_LENGTH) throw malformed('the credentials are too long');
  if (!BASE64.test(encoded) || encoded.length % 4 === 1) throw malformed('the credentials are not base64');
  const raw = Buffer.from(encoded, 'base64');
  const colon = raw.indexOf(COLON);
  if (colon < 0) throw malformed('the credentials have no colon between user and password');
  let user: string;
  try {
    user = UTF8.decode(raw.subarray(0, colon));
  } catch {
    throw malformed('the user name is not UTF-8');
  }
  if (user === '') throw malformed('the user name is empty');
  if (CONTROL.test(user)) throw malformed('the user name contains control characters');
  return { user, password: raw.subarray(colon + 1), raw };
}

function malformed(description: string): UnauthorizedError {
  return new UnauthorizedError({
    method: 'basic',
    error: 'invalid_request',
    reason: 'malformed_credentials',
    description,
  });
}
