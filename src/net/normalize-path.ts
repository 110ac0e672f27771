// The path a rule is decided on must be the path the app acts on. So the request target is
// normalized once (percent-decoding once, dot segments resolved, repeated slashes collapsed),
// the route rules see that form, and the app receives that same path, never the raw one. What
// cannot be made unambiguous is refused with 400 rather than guessed at:
// - an encoded "/" or "\" inside a segment (%2F, %5C): apps disagree on whether it splits;
// - a raw "\": some servers read it as "/"; raw characters outside printable ASCII;
// - NUL and other control characters, raw or encoded; invalid percent-encoding or UTF-8;
// - ".." above the root, and ".." that would remove an empty segment ("/a//.."), where
//   servers that collapse slashes first and those that resolve dots first disagree;
// - dot segments or empty names behind a path parameter ("..;x", "/;x/");
// - a segment that ends in "." or a space ("/admin.", "/admin%20"): Windows and IIS drop them,
//   and older Spring matched such suffixes, so the app would serve /admin for it;
// - what another reader of the segment would turn into a dot segment, a slash or such a name:
//   decoded again (a proxy or app that decodes twice: "%252e%252e", "%252f"), cut at a decoded
//   ";" ("..%3B", "%2e%2e%253b"), or folded by Unicode compatibility (NFKC, as IIS's best-fit
//   mapping and some frameworks do: fullwidth "／" and "＼", "．．").
// Path parameters (";x", split on the raw ";" before decoding, as Java servers do) are kept in
// the forwarded path (";jsessionid=" still works) and Target carries both readings: without
// them (Java servers) and with them (everything else). matchRoute refuses a path whose two
// readings would pick different rules.
import { BadRequestError } from '../errors.ts';

export interface Target {
  /** Decoded and normalized, parameters removed: what route rules match. Never has a query. */
  readonly matchPath: string;
  /** Decoded and normalized with parameters kept; equal to matchPath when there are none. */
  readonly literalPath: string;
  /** Normalized, in canonical percent-encoding: what the app receives (followed by the query). */
  readonly forwardPath: string;
  /** The raw query including its "?", or "" when there is none. Never matched. */
  readonly query: string;
}

// A path that needs no work: plain segments, no "%", ";", "\", dot segments, empty segments or
// segments that end in "." (a segment's last character is never "."). It runs on every request.
const PLAIN_PATH = /^(?:\/[A-Za-z0-9\-._~!$&'()*+,=:@]*[A-Za-z0-9\-_~!$&'()*+,=:@])*\/?$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\x00-\x1f\x7f]/;
const OUTSIDE_PRINTABLE_ASCII = /[^\x21-\x7e]/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const PERCENT_ENCODED = /%([0-9A-Fa-f]{2})/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/** What makes a decoded segment worth another reading: an escape left, or non-ASCII text. */
const ANOTHER_READING = /[%\u0080-\uffff]/;
const ESCAPE = /%[0-9A-Fa-f]{2}/;
const ESCAPE_RUNS = /(?:%[0-9A-Fa-f]{2})+/g;
const NON_ASCII = /[\u0080-\uffff]/;
/** Decodings beyond the one the sidecar makes that a reader might still make. */
const MAX_FURTHER_DECODINGS = 3;
const LENIENT_UTF8 = new TextDecoder('utf-8');

function invalid(message: string): BadRequestError {
  return new BadRequestError('invalid_path', message);
}

export function normalizeTarget(requestTarget: string): Target {
  const target = stripAbsoluteForm(requestTarget);
  if (CONTROL.test(target) || target.includes('#')) throw invalid('the request target has a control character or "#"');
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (!rawPath.startsWith('/')) throw invalid('the path must start with "/"');
  if (PLAIN_PATH.test(rawPath)) return { matchPath: rawPath, literalPath: rawPath, forwardPath: rawPath, query };
  return { ...normalizePath(rawPath), query };
}

/** Normalizes a path that starts with "/" (no query), or throws BadRequestError. */
export function normalizePath(rawPath: string): Omit<Target, 'query'> {
  if (rawPath.includes('\\')) throw invalid('the path has a backslash');
  if (OUTSIDE_PRINTABLE_ASCII.test(rawPath)) throw invalid('the path has characters that must be percent-encoded');
  if (BAD_PERCENT.test(rawPath)) throw invalid('the path has an invalid percent-encoding');
  const { segments, trailingSlash } = resolveSegments(rawPath.split('/').slice(1));
  const trailing = trailingSlash && segments.length > 0 ? '/' : '';
  const join = (parts: string[]) => `/${parts.join('/')}${trailing}`;
  return {
    matchPath: join(segments.map((s) => s.name)),
    literalPath: join(segments.map((s) => s.name + s.params)),
    forwardPath: join(segments.map((s) => s.raw)),
  };
}

interface Segment {
  /** Decoded, without parameters. */
  readonly name: string;
  /** Decoded parameters with their leading ";", or "". */
  readonly params: string;
  /** As sent, in canonical percent-encoding. */
  readonly raw: string;
}

/** Marks an empty segment ("//") until the end, so that ".." cannot silently remove it. */
const EMPTY = null;

function resolveSegments(rawSegments: string[]): { segments: Segment[]; trailingSlash: boolean } {
  const stack: (Segment | typeof EMPTY)[] = [];
  let trailingSlash = false;
  for (const [index, raw] of rawSegments.entries()) {
    const last = index === rawSegments.length - 1;
    trailingSlash = last;
    if (raw === '') {
      if (!last) stack.push(EMPTY);
      continue;
    }
    const segment = parseSegment(raw);
    if (segment.name === '.') continue;
    if (segment.name === '..') {
      const removed = stack.pop();
      if (removed === undefined) throw invalid('the path climbs above the root');
      if (removed === EMPTY) throw invalid('the path has ".." after an empty segment');
      continue;
    }
    stack.push(segment);
    trailingSlash = false;
  }
  return { segments: stack.filter((s): s is Segment => s !== EMPTY), trailingSlash };
}

function parseSegment(raw: string): Segment {
  const at = raw.indexOf(';');
  const rawName = at === -1 ? raw : raw.slice(0, at);
  const rawParams = at === -1 ? '' : raw.slice(at);
  const name = decode(rawName);
  const params = decode(rawParams);
  if (params !== '' && (name === '' || name === '.' || name === '..')) {
    throw invalid('the path has a parameter without a segment name, or on a dot segment');
  }
  if (name !== '.' && name !== '..') refuseDisguises(name, params);
  return { name, params, raw: raw.replace(PERCENT_ENCODED, canonicalEscape) };
}

function decode(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw invalid('the path has an invalid percent-encoding');
  }
  if (decoded.includes('/') || decoded.includes('\\')) throw invalid('the path has an encoded slash or backslash');
  if (CONTROL.test(decoded)) throw invalid('the path has an encoded control character');
  return decoded;
}

/**
 * Refuses a segment (decoded once, not itself "." or "..") that another reader would take for
 * something the rules never saw: a slash, a dot segment, an empty name before a parameter, or a
 * name that Windows would shorten by its trailing "." or space.
 */
function refuseDisguises(name: string, params: string): void {
  if (name.endsWith('.') || name.endsWith(' ')) throw invalid('a path segment ends in "." or a space');
  const segment = name + params;
  const other = ANOTHER_READING.test(segment) ? anotherReading(segment) : segment;
  if (other.includes('/') || other.includes('\\')) {
    throw invalid('the path has a slash or backslash in disguise (encoded twice, or fullwidth)');
  }
  if (CONTROL.test(other)) throw invalid('the path has an encoded control character');
  // A reader that cuts parameters at a decoded ";" (or decodes before it cuts) sees this name.
  const bare = other.split(';', 1)[0] as string;
  if (bare === '.' || bare === '..' || (bare === '' && other !== '')) {
    throw invalid('the path has a dot segment or a parameter in disguise (encoded)');
  }
  if (bare.endsWith('.') || bare.endsWith(' ')) throw invalid('a path segment ends in "." or a space');
}

/** The segment as a reader that decodes again, and folds compatibility characters, sees it. */
function anotherReading(decoded: string): string {
  const again = decodeFurther(decoded);
  return NON_ASCII.test(again) ? decodeFurther(again.normalize('NFKC')) : again;
}

function decodeFurther(value: string): string {
  let current = value;
  for (let round = 0; round < MAX_FURTHER_DECODINGS && ESCAPE.test(current); round++) {
    // Leniently, as such readers do: an invalid sequence becomes U+FFFD, never an error.
    current = current.replace(ESCAPE_RUNS, (run) => LENIENT_UTF8.decode(Buffer.from(run.replaceAll('%', ''), 'hex')));
  }
  if (ESCAPE.test(current)) throw invalid('the path is percent-encoded too many times');
  return current;
}

/** RFC 3986 §6.2.2: unreserved characters decoded, other escapes in upper case. */
function canonicalEscape(encoded: string, hex: string): string {
  const char = String.fromCharCode(Number.parseInt(hex, 16));
  return UNRESERVED.test(char) ? char : encoded.toUpperCase();
}

/** Proxies may send "http://host/path"; only its path and query take part. */
function stripAbsoluteForm(target: string): string {
  if (target.startsWith('/')) return target;
  const absolute = /^https?:\/\/[^/?#]*/i.exec(target);
  if (!absolute) throw invalid('the request target must be a path');
  const rest = target.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
