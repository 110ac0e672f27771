import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rawPath, readings } from '../../test/support/paths.ts';
import type { AuthMethod, RouteConfig } from '../config/schema.ts';
import { BadRequestError } from '../errors.ts';
import { compileGlob, globProblem, pathSegments } from '../net/glob.ts';
import { normalizeTarget } from '../net/normalize-path.ts';
import { type Route, RouteTable } from './route-table.ts';

const ALL = new Set<AuthMethod>(['jwt', 'basic', 'session', 'mtls']);

function route(path: string, extra: Partial<RouteConfig> = {}): RouteConfig {
  return { path, preflight: 'deny', ...extra };
}

/** The route for a raw request target, as the pipeline decides it. */
function decide(table: RouteTable, method: string, raw: string, preflightFor?: string): Route {
  return table.select({ method, target: normalizeTarget(raw), preflightFor });
}

describe('globs', () => {
  it.each([
    ['/static/**', ['/static', '/static/', '/static/a', '/static/a/b/c.js'], ['/staticx', '/stati', '/x/static']],
    ['/public', ['/public', '/public/'], ['/public-admin', '/public/x', '/publicx', '/PUBLIC']],
    ['/public/', ['/public', '/public/'], ['/public/x']],
    ['/api/*', ['/api/x', '/api/x/'], ['/api', '/api/', '/api/x/y']],
    ['/api/*/items', ['/api/1/items'], ['/api/items', '/api/1/2/items', '/api//items']],
    ['/files/*.pdf', ['/files/a.pdf', '/files/.pdf'], ['/files/a.pdfx', '/files/a/b.pdf']],
    ['/a/**/z', ['/a/z', '/a/b/z', '/a/b/c/z'], ['/a/bz', '/az']],
    ['/**', ['/', '/x', '/x/y'], []],
    ['/', ['/'], ['/x']],
    ['/v1.0/(x)', ['/v1.0/(x)'], ['/v1x0/(x)', '/v1.0/x']],
  ])('%s', (glob, matching, other) => {
    const table = new RouteTable([route(glob, { auth: 'none' })], ALL);
    for (const path of matching) expect(table.match('GET', path).pattern, path).toBe(glob);
    for (const path of other) expect(table.match('GET', path).pattern, path).toBeNull();
  });

  it('takes every other character literally', () => {
    const matches = (glob: string, path: string) => compileGlob(glob)(pathSegments(path));
    expect(matches('/a+b$', '/a+b$')).toBe(true);
    expect(matches('/a+b$', '/aab')).toBe(false);
    expect(matches('/a*b*c', '/aXbYc')).toBe(true);
    expect(matches('/a*b*c', '/aXbYcd')).toBe(false);
  });

  it('stays linear on long paths whatever the glob (a regular expression would backtrack for minutes)', () => {
    const path = pathSegments('/a'.repeat(4000));
    expect(compileGlob('/**/a/**/a/**/b')(path)).toBe(false);
    expect(compileGlob('/**/a/**/a/**/a')(path)).toBe(true);
    expect(compileGlob('/*a*a*a*b')(pathSegments(`/${'a'.repeat(8000)}`))).toBe(false);
  });

  it.each([
    ['admin', 'must start with "/"'],
    ['/a?b', 'must not contain a query; routes never see the query'],
    ['/a//b', 'must not contain empty segments ("//")'],
    ['/a/../b', 'must not contain "." or ".." segments'],
    ['/a/./b', 'must not contain "." or ".." segments'],
    ['/a%20b', 'must be written decoded (rules see "/a b", not "/a%20b")'],
    ['/admin;x', 'must not contain ";": rules never see path parameters'],
    ['/a\\b', 'must not contain control characters or "\\"'],
    ['/a**', '"**" must be a whole segment'],
  ])('refuses the glob %j', (glob, problem) => {
    expect(globProblem(glob)).toBe(problem);
  });

  it.each(['/', '/**', '/static/**', '/a/*/b', '/admin/', '/x.*'])('accepts the glob %j', (glob) => {
    expect(globProblem(glob)).toBeUndefined();
  });
});

describe('RouteTable', () => {
  const table = new RouteTable(
    [
      route('/static/**', { methods: ['GET', 'HEAD'], auth: 'none' }),
      route('/admin/**', { allow: { groups: ['admins'] } }),
      route('/api/**', { auth: ['jwt', 'basic'], allow: { scopes: ['read'] } }),
      route('/public', { auth: 'none' }),
    ],
    new Set<AuthMethod>(['jwt', 'basic']),
  );

  it('takes the first route whose glob and methods match', () => {
    expect(table.match('GET', '/static/x').pattern).toBe('/static/**');
    expect(table.match('POST', '/static/x')).toBe(table.defaultRoute);
    expect(table.match('DELETE', '/admin/users').allow).toEqual({ groups: ['admins'] });
  });

  it('orders accepted methods mtls, jwt, basic, session whatever the config order', () => {
    const t = new RouteTable(
      [route('/x', { auth: ['session', 'jwt'] }), route('/y', { auth: ['basic', 'mtls'] })],
      ALL,
    );
    expect(t.match('GET', '/x').auth).toEqual(['jwt', 'session']);
    // The client certificate costs nothing to look at: the handshake already verified it.
    expect(t.match('GET', '/y').auth).toEqual(['mtls', 'basic']);
    expect(t.defaultRoute.auth).toEqual(['mtls', 'jwt', 'basic', 'session']);
    expect(table.defaultRoute.auth).toEqual(['jwt', 'basic']);
  });

  it('matches an unknown method only on routes without methods', () => {
    expect(table.match(undefined, '/static/x')).toBe(table.defaultRoute);
    expect(table.match(undefined, '/admin').pattern).toBe('/admin/**');
  });

  it.each([
    ['/static/../admin', '/admin/**'],
    ['/static/%2e%2e/admin', '/admin/**'],
    ['//admin', '/admin/**'],
    ['/admin/', '/admin/**'],
    ['/%61dmin/x', '/admin/**'],
    ['/api/private?x=/static/a', '/api/**'],
    ['/public-admin', null],
    ['/public/', '/public'],
    ['/ADMIN', null],
  ])('decides %s by the rule for %s', (raw, pattern) => {
    expect(decide(table, 'GET', raw).pattern).toBe(pattern);
  });

  it('refuses a path whose parameters would change the rule (/admin;x)', () => {
    expect(() => decide(table, 'GET', '/admin;x')).toThrow(BadRequestError);
    expect(() => decide(table, 'GET', '/public;x')).toThrow(
      expect.objectContaining({ status: 400, code: 'ambiguous_path' }),
    );
    // The same rule either way: the parameter passes (";jsessionid=" keeps working).
    expect(decide(table, 'GET', '/admin/page;jsessionid=1').pattern).toBe('/admin/**');
    expect(decide(table, 'GET', '/static/app.js;v=2').pattern).toBe('/static/**');
  });

  it('matches case-insensitively only when asked', () => {
    const insensitive = new RouteTable([route('/Admin/**', { allow: { groups: ['admins'] } })], ALL, {
      caseInsensitive: true,
    });
    expect(insensitive.match('GET', '/ADMIN/x').pattern).toBe('/Admin/**');
    expect(insensitive.match('GET', '/admin').pattern).toBe('/Admin/**');
    expect(new RouteTable([route('/Admin/**')], ALL).match('GET', '/admin').pattern).toBeNull();
  });

  it('lets a preflight match a preflight route by the method it announces', () => {
    const t = new RouteTable(
      [route('/api/**', { methods: ['GET', 'POST'], preflight: 'allow' }), route('/other/**', { methods: ['GET'] })],
      ALL,
    );
    expect(t.match('OPTIONS', '/api/x', 'POST').pattern).toBe('/api/**');
    expect(t.match('OPTIONS', '/api/x', 'DELETE')).toBe(t.defaultRoute);
    expect(t.match('OPTIONS', '/api/x')).toBe(t.defaultRoute);
    // A route that does not let preflights through is matched by the request's own method.
    expect(t.match('OPTIONS', '/other/x', 'GET')).toBe(t.defaultRoute);
  });

  it('never decides public a path that any reading puts under a protected prefix (property)', () => {
    const protectedTable = new RouteTable(
      [
        route('/static/**', { auth: 'none' }),
        route('/public', { auth: 'none' }),
        route('/admin/**', { allow: { groups: ['admins'] } }),
        route('/**', { auth: 'none' }),
      ],
      ALL,
    );
    const underAdmin = (path: string) => path === '/admin' || path.startsWith('/admin/') || path.startsWith('/admin;');
    fc.assert(
      fc.property(rawPath(), fc.constantFrom('GET', 'POST'), (raw, method) => {
        let decided: Route;
        try {
          decided = decide(protectedTable, method, raw);
        } catch (error) {
          return error instanceof BadRequestError && error.status === 400;
        }
        const read = readings(raw.split('?')[0] as string);
        if (underAdmin(read.literal) || underAdmin(read.withoutParameters)) {
          expect(decided.auth, raw).not.toBe('none');
          expect(decided.pattern, raw).toBe('/admin/**');
        }
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});
