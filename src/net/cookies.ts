// Cookie header syntax (RFC 6265): reading the sidecar's own cookies from a request, writing
// Set-Cookie values, and removing the sidecar's cookies from what the app receives. The
// values the sidecar writes are base64url and dots, so nothing here needs quoting.

export type SameSite = 'lax' | 'strict' | 'none';

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. Absent: a browser-session cookie. */
  readonly maxAge?: number;
  readonly path: string;
  readonly secure: boolean;
  readonly sameSite: SameSite;
}

const SAME_SITE: Record<SameSite, string> = { lax: 'Lax', strict: 'Strict', none: 'None' };

/** Every value of the cookie `name` in the request's Cookie header(s), in order. */
export function readCookies(header: string | string[] | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const pair of line.split(';')) {
      const at = pair.indexOf('=');
      if (at === -1 || pair.slice(0, at).trim() !== name) continue;
      values.push(unquote(pair.slice(at + 1).trim()));
    }
  }
  return values;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** A Set-Cookie value. HttpOnly always: no script ever needs the sidecar's cookies. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${options.path}`];
  if (options.maxAge !== undefined) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAge))}`);
    if (options.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  parts.push(`SameSite=${SAME_SITE[options.sameSite]}`);
  return parts.join('; ');
}

/** A Set-Cookie value that deletes the cookie. */
export function clearCookie(name: string, options: CookieOptions): string {
  return serializeCookie(name, '', { ...options, maxAge: 0 });
}

/** The Cookie header without the cookies `drop` names ("" when nothing is left; as sent when none). */
export function withoutCookies(header: string, drop: (name: string) => boolean): string {
  const pairs = header.split(';');
  const kept = pairs.filter((pair) => {
    const at = pair.indexOf('=');
    const name = (at === -1 ? pair : pair.slice(0, at)).trim();
    return name !== '' && !drop(name);
  });
  if (kept.length === pairs.length) return header;
  return kept.map((pair) => pair.trim()).join('; ');
}
