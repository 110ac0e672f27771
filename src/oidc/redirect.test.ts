import { describe, expect, it } from 'vitest';
import { isSafeLocation, openRedirectPayloads } from '../../test/support/open-redirects.ts';
import { safeRedirect } from './redirect.ts';

const PUBLIC_URL = 'https://app.example.com';

describe('safeRedirect', () => {
  it('keeps a path, its query and fragment', () => {
    expect(safeRedirect('/reports?year=2024&q=a%20b#top', PUBLIC_URL)).toBe('/reports?year=2024&q=a%20b#top');
    expect(safeRedirect('/', PUBLIC_URL)).toBe('/');
    expect(safeRedirect('/a/./b/../c', PUBLIC_URL)).toBe('/a/c');
  });

  it('turns an absolute URL on the public origin into its path', () => {
    expect(safeRedirect('https://app.example.com/x?y=1', PUBLIC_URL)).toBe('/x?y=1');
    expect(safeRedirect('HTTPS://APP.EXAMPLE.COM:443/x', PUBLIC_URL)).toBe('/x');
  });

  it('sends anything else to "/"', () => {
    for (const rd of [
      undefined,
      ['/a', '/b'],
      '',
      'relative',
      '//evil.com',
      '/\\evil.com',
      '\\\\evil.com',
      '/.//evil.com',
      '/%2e%2e//evil.com',
      'https://evil.com/',
      'http://app.example.com/x',
      'https://app.example.com.evil.com/',
      'https://app.example.com@evil.com/',
      'https://user:pass@app.example.com/',
      'javascript:alert(1)',
      '/\t/evil.com',
      '/x\r\nSet-Cookie: a=b',
      ` /x`,
      `/${'a'.repeat(3000)}`,
    ]) {
      expect(safeRedirect(rd, PUBLIC_URL), String(rd)).toBe('/');
    }
  });

  it('answers every open-redirect payload with a path on the public origin', () => {
    const payloads = openRedirectPayloads();
    expect(payloads).toHaveLength(559);
    for (const payload of payloads) {
      const location = safeRedirect(payload, PUBLIC_URL);
      expect(isSafeLocation(location, PUBLIC_URL), `${JSON.stringify(payload)} → ${location}`).toBe(true);
    }
  });
});
