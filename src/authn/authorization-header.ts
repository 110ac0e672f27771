// The one Authorization header a request may carry. Two of them are refused: proxies and apps
// disagree on which one counts, and that disagreement is a bypass.
import type { IncomingMessage } from 'node:http';
import { BadRequestError } from '../errors.ts';
import { headerCount } from '../http/raw-http.ts';

export interface Authorization {
  /** Lower case: schemes are case-insensitive (RFC 9110 §11.1). */
  readonly scheme: string;
  readonly credentials: string;
}

const AUTHORIZATION = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:[ \t]+(.*?))?[ \t]*$/s;

export function readAuthorization(req: IncomingMessage): Authorization | undefined {
  const raw = req.headers.authorization;
  if (raw === undefined) return undefined;
  if (headerCount(req.rawHeaders, 'authorization') > 1) {
    throw new BadRequestError('duplicate_authorization', 'more than one Authorization header');
  }
  const match = AUTHORIZATION.exec(raw);
  if (!match) {
    return raw.trim() === '' ? undefined : { scheme: '', credentials: raw };
  }
  return { scheme: (match[1] as string).toLowerCase(), credentials: match[2] ?? '' };
}
