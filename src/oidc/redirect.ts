// Where a login or sign-out may send the browser back to: only a path on publicUrl's origin.
// Anything else (another host, a scheme, "//host", "/\host", credentials, control characters,
// dot segments that climb into "//host", an over-long value) becomes "/". The answer is always
// a path starting with exactly one "/", so no browser can read it as another origin.

const MAX_LENGTH = 2048;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const REFUSED_CHARACTERS = /[\x00-\x1f\x7f\\]/;
const ABSOLUTE_HTTP = /^https?:\/\//i;

export function safeRedirect(rd: unknown, publicUrl: string): string {
  if (typeof rd !== 'string' || rd === '' || rd.length > MAX_LENGTH || REFUSED_CHARACTERS.test(rd)) return '/';
  const isPath = rd.startsWith('/') && !rd.startsWith('//');
  if (!isPath && !ABSOLUTE_HTTP.test(rd)) return '/';
  let url: URL;
  try {
    url = new URL(rd, `${publicUrl}/`);
  } catch {
    return '/';
  }
  if (url.origin !== new URL(publicUrl).origin || url.username !== '' || url.password !== '') return '/';
  // Dot segments can turn "/.//host" into "//host": a path must start with one "/" only.
  if (!url.pathname.startsWith('/') || url.pathname.startsWith('//')) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}
