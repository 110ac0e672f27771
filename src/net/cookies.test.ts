import { describe, expect, it } from 'vitest';
import { clearCookie, readCookies, serializeCookie, withoutCookies } from './cookies.ts';

describe('cookies', () => {
  it('reads every value of a cookie, from one or several headers', () => {
    expect(readCookies('a=1; s=x; b=2; s="y"', 's')).toEqual(['x', 'y']);
    expect(readCookies(['s=1', 'other=2; s=3'], 's')).toEqual(['1', '3']);
    expect(readCookies(undefined, 's')).toEqual([]);
    expect(readCookies('ss=1; s_login_x=2', 's')).toEqual([]);
  });

  it('writes HttpOnly always, Secure when asked, and SameSite', () => {
    expect(serializeCookie('s', 'v', { path: '/', secure: true, sameSite: 'lax', maxAge: 60 })).toBe(
      's=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax',
    );
    expect(serializeCookie('s', 'v', { path: '/', secure: false, sameSite: 'strict' })).toBe(
      's=v; Path=/; HttpOnly; SameSite=Strict',
    );
    expect(clearCookie('s', { path: '/', secure: false, sameSite: 'none', maxAge: 60 })).toBe(
      's=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=None',
    );
  });

  it('removes the named cookies from a Cookie header and keeps the rest as sent', () => {
    const drop = (name: string) => name === 's' || name.startsWith('s_login_');
    expect(withoutCookies('a=1; s=x; s_login_abc=y;b=2', drop)).toBe('a=1; b=2');
    expect(withoutCookies('s=x; s_login_abc=y', drop)).toBe('');
    expect(withoutCookies('ss=1;a=s=x', drop)).toBe('ss=1;a=s=x');
  });
});
