import { describe, expect, it } from 'vitest';
import { isBrowserNavigation } from './browser.ts';

const request = (method: string, headers: Record<string, string>) => ({ method, headers });
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('isBrowserNavigation', () => {
  it('is a GET or HEAD that accepts text/html, without X-Requested-With or Authorization', () => {
    expect(isBrowserNavigation(request('GET', { accept: HTML }))).toBe(true);
    expect(isBrowserNavigation(request('HEAD', { accept: 'TEXT/HTML; q=0.5' }))).toBe(true);
  });

  it('is not anything else', () => {
    expect(isBrowserNavigation(request('POST', { accept: HTML }))).toBe(false);
    expect(isBrowserNavigation(request('GET', {}))).toBe(false);
    expect(isBrowserNavigation(request('GET', { accept: '*/*' }))).toBe(false);
    expect(isBrowserNavigation(request('GET', { accept: 'text/*' }))).toBe(false);
    expect(isBrowserNavigation(request('GET', { accept: 'text/html;q=0' }))).toBe(false);
    expect(isBrowserNavigation(request('GET', { accept: 'application/json, text/htmlx' }))).toBe(false);
    expect(isBrowserNavigation(request('GET', { accept: HTML, 'x-requested-with': 'XMLHttpRequest' }))).toBe(false);
    expect(isBrowserNavigation(request('GET', { accept: HTML, authorization: 'Basic eDp5' }))).toBe(false);
  });
});
