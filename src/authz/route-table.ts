// The route table, compiled once per config. First match wins; a route whose methods do not
// list the request's method does not match. A path no route matches needs an identity from
// any configured method. Rules see the normalized path only (see normalize-path.ts), and a
// trailing slash never changes which rule matches: "/admin/" is "/admin" to every rule, since
// many frameworks serve both alike.
import type { AuthMethod, RouteConfig } from '../config/schema.ts';
import { BadRequestError } from '../errors.ts';
import { AddressList } from '../net/address.ts';
import { compileGlob, type GlobMatcher, pathSegments } from '../net/glob.ts';
import type { Target } from '../net/normalize-path.ts';

export type Allow = NonNullable<RouteConfig['allow']>;

export interface Route {
  /** The configured glob, or null for the default rule; used in logs and metrics. */
  readonly pattern: string | null;
  /** Position in `routes`, or null for the default rule. */
  readonly index: number | null;
  /** The methods it matches, or null for any method. */
  readonly methods: readonly string[] | null;
  /** "none" for a public route, else the methods it accepts, in the order they are tried. */
  readonly auth: 'none' | readonly AuthMethod[];
  readonly allow: Allow | undefined;
  /** allow.sourceCidrs, compiled; undefined when the route takes clients from anywhere. */
  readonly sources: AddressList | undefined;
  /**
   * Whether CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) pass
   * without credentials, and by which setting: the route's `preflight: allow`, or
   * skipAuthPreflight for a route that does not say.
   */
  readonly preflight: false | 'allow' | 'skipAuthPreflight';
}

interface CompiledRoute extends Route {
  readonly matches: GlobMatcher;
  readonly methodSet: ReadonlySet<string> | null;
}

export interface RouteTableOptions {
  /** Match paths and globs without regard to case (for apps that serve /ADMIN as /admin). */
  readonly caseInsensitive?: boolean;
  /**
   * skipAuthPreflight: CORS preflights pass on every route that does not say `preflight: deny`,
   * and on the default rule.
   */
  readonly skipAuthPreflight?: boolean;
}

/** What a request asks for, as far as route matching is concerned. */
export interface RouteQuery {
  /** The request method; undefined when unknown (then only routes without `methods` match). */
  readonly method: string | undefined;
  readonly target: Pick<Target, 'matchPath' | 'literalPath'>;
  /** For a CORS preflight, the method it announces (Access-Control-Request-Method). */
  readonly preflightFor?: string | undefined;
}

/**
 * The order in which credentials are looked for: the connection's client certificate first (it
 * costs nothing: the handshake verified it), then Authorization schemes, then the cookie.
 */
const METHOD_ORDER: readonly AuthMethod[] = ['mtls', 'jwt', 'basic', 'session'];

export class RouteTable {
  readonly defaultRoute: Route;
  private readonly routes: readonly CompiledRoute[];
  private readonly caseInsensitive: boolean;

  constructor(routes: readonly RouteConfig[], configured: ReadonlySet<AuthMethod>, options: RouteTableOptions = {}) {
    this.caseInsensitive = options.caseInsensitive ?? false;
    const preflightByDefault = options.skipAuthPreflight ? 'skipAuthPreflight' : false;
    const all = METHOD_ORDER.filter((m) => configured.has(m));
    this.routes = routes.map((route, index) => ({
      pattern: route.path,
      index,
      matches: compileGlob(route.path, this.caseInsensitive),
      methods: route.methods ?? null,
      methodSet: route.methods ? new Set(route.methods) : null,
      auth: route.auth === 'none' ? 'none' : route.auth ? METHOD_ORDER.filter((m) => route.auth?.includes(m)) : all,
      allow: route.allow,
      sources: route.allow?.sourceCidrs ? new AddressList(route.allow.sourceCidrs) : undefined,
      preflight: route.preflight === undefined ? preflightByDefault : route.preflight === 'allow' && 'allow',
    }));
    this.defaultRoute = {
      pattern: null,
      index: null,
      methods: null,
      auth: all,
      allow: undefined,
      sources: undefined,
      preflight: preflightByDefault,
    };
  }

  /**
   * The route for a request. A path with parameters ("/admin;x") is read both ways, with and
   * without them, since apps differ; when the two readings pick different routes the request
   * is refused, as no answer would be right for every app.
   */
  select(query: RouteQuery): Route {
    const route = this.match(query.method, query.target.matchPath, query.preflightFor);
    if (query.target.literalPath !== query.target.matchPath) {
      const literal = this.match(query.method, query.target.literalPath, query.preflightFor);
      if (literal !== route) {
        throw new BadRequestError('ambiguous_path', 'the path parameters (";") make the route rules ambiguous');
      }
    }
    return route;
  }

  /** First route whose glob and methods match `path` (normalized, never with a query). */
  match(method: string | undefined, path: string, preflightFor?: string): Route {
    const segments = pathSegments(path, this.caseInsensitive);
    for (const route of this.routes) {
      if (!methodMatches(route, method, preflightFor)) continue;
      if (route.matches(segments)) return route;
    }
    return this.defaultRoute;
  }
}

/**
 * A route with `methods` matches a listed method. A CORS preflight also matches a route that
 * lets preflights through when it lists the method the preflight announces, so that
 * `methods: [GET, POST]` with `preflight: allow` works without listing OPTIONS.
 */
function methodMatches(route: CompiledRoute, method: string | undefined, preflightFor: string | undefined): boolean {
  if (route.methodSet === null) return true;
  if (method !== undefined && route.methodSet.has(method)) return true;
  return route.preflight !== false && preflightFor !== undefined && route.methodSet.has(preflightFor);
}
