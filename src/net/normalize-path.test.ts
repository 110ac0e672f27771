import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rawPath, readings } from '../../test/support/paths.ts';
import { BadRequestError } from '../errors.ts';
import { normalizeTarget } from './normalize-path.ts';

function refusal(target: string): string | undefined {
  try {
    normalizeTarget(target);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).status).toBe(400);
    return (error as BadRequestError).code;
  }
}

describe('normalizeTarget', () => {
  it.each([
    ['/', '/', '/'],
    ['/static/app.js', '/static/app.js', '/static/app.js'],
    ['/static/../admin', '/admin', '/admin'],
    ['/static/%2e%2e/admin', '/admin', '/admin'],
    ['/static/%2E./admin', '/admin', '/admin'],
    ['/static/./x', '/static/x', '/static/x'],
    ['//admin', '/admin', '/admin'],
    ['/a//b///c', '/a/b/c', '/a/b/c'],
    ['/a/b/..', '/a/', '/a/'],
    ['/a/.', '/a/', '/a/'],
    ['/admin/', '/admin/', '/admin/'],
    ['/%61dmin', '/admin', '/admin'],
    ['/caf%c3%a9', '/café', '/caf%C3%A9'],
    ['/a%20b', '/a b', '/a%20b'],
    ['/100%25', '/100%', '/100%25'],
    ['/a%2Cb', '/a,b', '/a%2Cb'],
    ['/a%3Bb', '/a;b', '/a%3Bb'],
    ['/.well-known/x', '/.well-known/x', '/.well-known/x'],
    ['/v1.2/file.txt', '/v1.2/file.txt', '/v1.2/file.txt'],
    ['/a%2525b', '/a%25b', '/a%2525b'],
    ['/%E6%97%A5%E6%9C%AC', '/日本', '/%E6%97%A5%E6%9C%AC'],
    ['/x%3Badmin', '/x;admin', '/x%3Badmin'],
  ])('%s is matched as %s and forwarded as %s', (raw, matchPath, forwardPath) => {
    const target = normalizeTarget(raw);
    expect(target.matchPath).toBe(matchPath);
    expect(target.forwardPath).toBe(forwardPath);
    expect(target.query).toBe('');
  });

  it('keeps the query apart: it never takes part in matching', () => {
    expect(normalizeTarget('/api/private?x=/status')).toEqual({
      matchPath: '/api/private',
      literalPath: '/api/private',
      forwardPath: '/api/private',
      query: '?x=/status',
    });
    expect(normalizeTarget('/a/../b?q=/../c%2f').query).toBe('?q=/../c%2f');
  });

  it('reads path parameters both ways and forwards them', () => {
    expect(normalizeTarget('/admin;x')).toEqual({
      matchPath: '/admin',
      literalPath: '/admin;x',
      forwardPath: '/admin;x',
      query: '',
    });
    const session = normalizeTarget('/app/page;jsessionid=AB12?x=1');
    expect(session.matchPath).toBe('/app/page');
    expect(session.forwardPath).toBe('/app/page;jsessionid=AB12');
    expect(session.query).toBe('?x=1');
  });

  it('takes only the path and query of an absolute-form target', () => {
    expect(normalizeTarget('http://example.com/a/../b?c').forwardPath).toBe('/b');
    expect(normalizeTarget('HTTPS://example.com').matchPath).toBe('/');
  });

  it.each([
    ['/static/..%2fadmin', 'invalid_path'],
    ['/static/..%2Fadmin', 'invalid_path'],
    ['/static/..%5cadmin', 'invalid_path'],
    ['/static\\..\\admin', 'invalid_path'],
    ['/admin%00', 'invalid_path'],
    ['/admin%0a', 'invalid_path'],
    ['/admin\x00', 'invalid_path'],
    ['/a\tb', 'invalid_path'],
    ['/?q=\x01', 'invalid_path'],
    ['/a#b', 'invalid_path'],
    ['/%', 'invalid_path'],
    ['/%zz', 'invalid_path'],
    ['/%c3', 'invalid_path'],
    ['/%ff', 'invalid_path'],
    ['/..', 'invalid_path'],
    ['/a/../..', 'invalid_path'],
    ['/%2e%2e/etc', 'invalid_path'],
    ['/a//..', 'invalid_path'],
    ['/..;x/admin', 'invalid_path'],
    ['/static/..;/admin', 'invalid_path'],
    ['/.;x/admin', 'invalid_path'],
    ['/;x/admin', 'invalid_path'],
    ['/café', 'invalid_path'],
    ['/a b', 'invalid_path'],
    ['*', 'invalid_path'],
    ['admin', 'invalid_path'],
  ])('refuses %j with 400', (raw, code) => {
    expect(refusal(raw)).toBe(code);
  });

  it.each([
    // Windows and IIS drop a trailing "." or space: these would be /admin to the app.
    '/admin.',
    '/admin./x',
    '/admin%20',
    '/admin%20/x',
    '/admin...',
    '/admin.;x',
    '/admin%2e',
    '/admin%252e',
    // Dot segments another reader would see: decoded again, or cut at a decoded ";".
    '/static/%252e%252e/admin',
    '/static/%25252e%25252e/admin',
    '/static/..%3B/admin',
    '/static/..%3b/admin',
    '/static/.%3B/admin',
    '/static/%2e%2e%253b/admin',
    '/static/%252e%252e%253bx/admin',
    '/%3Bx/admin',
    // Slashes another reader would see: decoded again, or fullwidth (folded by NFKC).
    '/static/..%252fadmin',
    '/static/%255cadmin',
    '/static%EF%BC%8F..%EF%BC%8Fadmin',
    '/static%EF%BC%BC..%EF%BC%BCadmin',
    '/static/%EF%BC%8E%EF%BC%8E/admin',
    '/static/%25EF%25BC%258F',
    '/a%252500',
    '/a%2525252e',
    '/a%25252525252e',
  ])('refuses %j with 400: another reader would see another path', (raw) => {
    expect(refusal(raw)).toBe('invalid_path');
  });

  it('never lets two readings of the path disagree with what it decided (property)', () => {
    fc.assert(
      fc.property(rawPath(), (raw) => {
        let target: ReturnType<typeof normalizeTarget>;
        try {
          target = normalizeTarget(raw);
        } catch (error) {
          return error instanceof BadRequestError && error.status === 400;
        }
        const read = readings(raw);
        // Servers that keep parameters in the path (Flask, Express, Go) read the literal form;
        // Java servers drop them first. Both readings are what the rules saw.
        expect(read.literal).toBe(target.literalPath);
        expect(read.withoutParameters).toBe(target.matchPath);
        // The app receives a path that every reader understands as the same one.
        const forwarded = readings(target.forwardPath);
        expect(forwarded.literal).toBe(target.literalPath);
        expect(forwarded.withoutParameters).toBe(target.matchPath);
        // The forwarded path is canonical: normalizing it again changes nothing.
        expect(normalizeTarget(target.forwardPath + target.query)).toEqual(target);
        expect(target.forwardPath).not.toMatch(/\/\/|\/\.\.?(?:[/;]|$)/);
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});
