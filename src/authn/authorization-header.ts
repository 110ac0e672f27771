// The one Authorization header a request may carry, parsed. (Two of them are refused before
// this, where the raw header list is visible: proxies and apps disagree on which one counts,
// and that disagreement is a bypass.)

export interface Authorization {
  /** Lower case: schemes are case-insensitive (RFC 9110 §11.1). */
  readonly scheme: string;
  readonly credentials: string;
}

const AUTHORIZATION = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:[ \t]+(.*?))?[ \t]*$/s;

/** The scheme and credentials; a header that is not `scheme credentials` has scheme "". */
export function parseAuthorization(raw: string | undefined): Authorization | undefined {
  if (raw === undefined) return undefined;
  const match = AUTHORIZATION.exec(raw);
  if (!match) {
    return raw.trim() === '' ? undefined : { scheme: '', credentials: raw };
  }
  return { scheme: (match[1] as string).toLowerCase(), credentials: match[2] ?? '' };
}
