// Generated request paths for property tests, and an independent reading of a path: what a
// server that resolves it the WHATWG URL way, then decodes it, then merges slashes acts on.
import fc from 'fast-check';

/** Segments that matter for bypasses: dots, encodings, parameters, case. */
const TRICKY_SEGMENTS = [
  'admin',
  'ADMIN',
  'Admin',
  'static',
  'public',
  'public-admin',
  'api',
  'app.js',
  '.',
  '..',
  '...',
  '%2e',
  '%2E',
  '%2e%2e',
  '.%2e',
  '%2E.',
  '',
  'admin;x',
  'static;x',
  'x;y=1',
  '%61dmin',
  '%41DMIN',
  '%3B',
  '%3bx',
  '%25',
  '%252e%252e',
  '%c3%a9',
  '%20',
  '~user',
  "a'b",
  '*',
  '?x=/admin',
];

/** Segments that must be refused wherever they stand. */
const HOSTILE_SEGMENTS = [
  ';x',
  '..;x',
  '.;',
  '%2f',
  '%2F',
  '..%2fadmin',
  '%5c',
  '%5C',
  '\\',
  '%00',
  '%0a',
  '\x00',
  '\t',
  '%',
  '%zz',
  '%ff',
  '#frag',
];

const segment = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...TRICKY_SEGMENTS) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom('a', '.', '%', '2', 'e', 'f', '5', 'c', ';', '/', '\\') }),
  },
);
const separator = fc.oneof(
  { weight: 8, arbitrary: fc.constant('/') },
  { weight: 1, arbitrary: fc.constantFrom('//', '\\') },
);

/** A request path (maybe with a query) built from tricky segments and separators. */
export function rawPath(): fc.Arbitrary<string> {
  return fc
    .array(fc.tuple(separator, segment), { minLength: 1, maxLength: 7 })
    .map((parts) => parts.map(([sep, seg]) => sep + seg).join(''))
    .map((path) => (path.startsWith('/') ? path : `/${path}`));
}

function read(path: string): string {
  const url = new URL(`http://reader${path}`);
  return decodeURIComponent(url.pathname).replace(/\/{2,}/g, '/');
}

/**
 * The two ways servers read a path: literally (Flask, Express, Go), or without path parameters
 * (Java servers drop ";x" from each segment before decoding). Call only on a path that was
 * accepted (no "%" that does not decode).
 */
export function readings(path: string): { literal: string; withoutParameters: string } {
  const withoutParameters = path
    .split('/')
    .map((s) => s.split(';')[0])
    .join('/');
  return { literal: read(path), withoutParameters: read(withoutParameters) };
}
