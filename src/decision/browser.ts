// Browser or API: a request without credentials on a route that accepts login sessions should
// log in when it is a browser navigation: GET or HEAD, an Accept header that names text/html
// (a bare "*/*" does not: that is what scripts and API clients send), no X-Requested-With
// (XHR from pages) and no Authorization (an API client that sent a credential wants to know it
// failed). Everything else keeps its 401 and challenges. Where the login URL is used is the
// renderer's choice: the pipeline redirects (never for a WebSocket upgrade), forward-auth names
// it in a header, the sidecar's own endpoints answer 401.
import type { IncomingHttpHeaders } from 'node:http';
import type { Route } from '../authz/route-table.ts';
import type { RequestFacts } from './facts.ts';
import type { Runtime } from './runtime.ts';

export function isBrowserNavigation(req: {
  readonly method?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (req.headers['x-requested-with'] !== undefined || req.headers.authorization !== undefined) return false;
  return acceptsHtml(req.headers.accept);
}

/** Whether Accept names text/html explicitly with a q above 0. */
function acceptsHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((range) => {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type !== 'text/html') return false;
    const q = parameters.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** `{pathPrefix}/start?rd=<path and query>` when a browser should log in for this route; else undefined. */
export function loginUrlFor(facts: RequestFacts, route: Route, runtime: Runtime): string | undefined {
  if (runtime.login === undefined || route.auth === 'none' || !route.auth.includes('session')) return undefined;
  // A forward-auth caller that did not name the method asks with its own GET or HEAD.
  if (!isBrowserNavigation({ method: facts.method ?? 'GET', headers: facts.headers })) return undefined;
  const rd = facts.target ? facts.target.forwardPath + facts.target.query : '/';
  return `${runtime.login.startPath}?rd=${encodeURIComponent(rd)}`;
}
