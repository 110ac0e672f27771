// The open-redirect payloads (oauth2-proxy's test data, MIT) and what a safe answer is.
import { readFileSync } from 'node:fs';

/** Every line of test/fixtures/openredirects.txt, as written (the first one is empty). */
export function openRedirectPayloads(): string[] {
  const text = readFileSync(new URL('../fixtures/openredirects.txt', import.meta.url), 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => line.replace(/\r$/, ''));
}

/**
 * A Location is safe when it is a path (one leading "/", no "\" that a browser would read as
 * "/") that, resolved against the public origin, stays on it.
 */
export function isSafeLocation(location: string | undefined, publicUrl: string): boolean {
  if (location === undefined || !location.startsWith('/') || location.startsWith('//')) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (location.includes('\\') || /[\x00-\x20\x7f]/.test(location)) return false;
  return new URL(location, publicUrl).origin === new URL(publicUrl).origin;
}
