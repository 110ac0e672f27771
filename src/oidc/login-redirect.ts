// Browser or API: a 401 on a proxied route that accepts login sessions becomes a 302 to the
// login when the request is a browser navigation: GET or HEAD, an Accept header that names
// text/html (a bare "*/*" does not: that is what scripts and API clients send), no
// X-Requested-With (XHR from pages) and no Authorization (an API client that sent a credential
// wants to know it failed). Everything else keeps its 401 and challenges. The sidecar's own
// endpoints and WebSocket upgrades never redirect.
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from '../http/context.ts';

/** `req` may be the request itself, or (forward-auth) the method and headers of the one checked. */
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

/** `{pathPrefix}/start?rd=<path and query>` when this 401 should be a login instead; else undefined. */
export function loginRedirectFor(ctx: Context): string | undefined {
  const { runtime, route, target, upgrade } = ctx.state;
  if (runtime.login === undefined || route === undefined || upgrade !== undefined) return undefined;
  // The sidecar's endpoints answer for themselves, even one that applies route rules (forward-auth).
  const prefix = runtime.config.pathPrefix;
  if (target && (target.matchPath === prefix || target.matchPath.startsWith(`${prefix}/`))) return undefined;
  if (route.auth === 'none' || !route.auth.includes('session')) return undefined;
  if (!isBrowserNavigation(ctx.req)) return undefined;
  const rd = target ? `${target.forwardPath}${target.query}` : '/';
  return `${runtime.login.startPath}?rd=${encodeURIComponent(rd)}`;
}
