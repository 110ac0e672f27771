// The page GET {pathPrefix}/start answers when several providers are configured and the
// request names none: one link per provider to its own start URL, keeping `rd`. Plain HTML:
// no script, no style sheet, no image (its Content-Security-Policy allows none), so it reads
// the same in any browser, a text browser included, and it cannot be framed.
import type { Context } from '../http/context.ts';
import { escapeHtml } from '../net/html.ts';
import type { Provider } from '../oidc/providers.ts';

const SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

/** Writes the choice of `providers` for a login that comes back to `rd` (already made safe). */
export function renderProviderChoice(
  ctx: Context,
  providers: readonly Provider[],
  startPath: string,
  rd: string,
): void {
  const links = providers.map((provider) => {
    const name = provider.name as string; // a list of providers has a name on each
    const href = `${startPath}?provider=${encodeURIComponent(name)}&rd=${encodeURIComponent(rd)}`;
    return `<li><a href="${escapeHtml(href)}">${escapeHtml(name)}</a></li>`;
  });
  ctx.status = 200;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', SECURITY_POLICY);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.body = [
    '<!doctype html>',
    '<html lang="en">',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Sign in</title>',
    '<h1>Sign in</h1>',
    '<p>Choose where to sign in:</p>',
    '<ul>',
    ...links,
    '</ul>',
    '',
  ].join('\n');
}
