// What makes a request a CORS preflight (Fetch standard): OPTIONS with Origin and a valid
// Access-Control-Request-Method. Browsers send it without credentials, so a route may let it
// through (`preflight: allow`); it never passes by default.
import type { IncomingHttpHeaders } from 'node:http';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The method a preflight announces, or undefined when the request is not a preflight. */
export function preflightFor(method: string | undefined, headers: IncomingHttpHeaders): string | undefined {
  if (method !== 'OPTIONS') return undefined;
  const origin = headers.origin;
  const announced = headers['access-control-request-method'];
  if (typeof origin !== 'string' || origin === '' || typeof announced !== 'string') return undefined;
  return TOKEN.test(announced) ? announced : undefined;
}
