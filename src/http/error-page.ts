// What a person meets when the sidecar answers instead of the app: what happened, in plain
// words, the request id to quote, and the way on (sign in, sign in as someone else, sign out,
// try again). Browsers get a small HTML page (no script, readable without CSS); API clients get
// the same words as JSON. Links are paths on this origin, built from the normalized path.
import type { Identity } from '../authn/identity.ts';
import type { Runtime } from '../decision/runtime.ts';
import { type SidecarError, UnauthorizedError } from '../errors.ts';
import { escapeHtml } from '../net/html.ts';

export interface Link {
  readonly text: string;
  readonly href: string;
}

export interface ErrorPage {
  readonly title: string;
  readonly explanation: string;
  readonly links: readonly Link[];
}

/** What the page may say about the request: where it was going and who asked. */
export interface PageContext {
  readonly runtime: Runtime;
  /** The path and query the request was for (normalized), when it got that far. */
  readonly here: string | undefined;
  readonly identity: Identity | null | undefined;
}

export function errorPage(error: SidecarError, context: PageContext): ErrorPage {
  const { runtime, here, identity } = context;
  const login = runtime.login;
  const prefix = runtime.config.pathPrefix;
  const start = (rd: string) => `${login?.startPath}?rd=${encodeURIComponent(rd)}`;
  const signIn = (rd: string): Link => ({ text: 'Sign in', href: start(rd) });
  const tryAgain: Link[] = here === undefined ? [] : [{ text: 'Try again', href: here }];
  switch (error.status) {
    case 401: {
      const refusedCredential = error instanceof UnauthorizedError && error.rejection !== undefined;
      return {
        title: refusedCredential ? 'Your sign-in was not accepted' : 'Sign-in required',
        explanation: refusedCredential
          ? `The credentials sent with the request were refused: ${error.message}.`
          : 'This page is only for signed-in users.',
        links: login ? [signIn(here ?? '/')] : [],
      };
    }
    case 403:
      return {
        title: 'Not allowed',
        explanation:
          identity && error.code !== 'invalid_path'
            ? `You are signed in as ${identity.user}, but this page is not open to you. Ask the people who run it for access, quoting the request id.`
            : 'This page is not open to you, from where you are. Ask the people who run it for access, quoting the request id.',
        links:
          login && identity?.method === 'session'
            ? [
                // Sign out, then straight into a new login that comes back here.
                {
                  text: 'Sign in as someone else',
                  href: `${prefix}/sign_out?rd=${encodeURIComponent(start(here ?? '/'))}`,
                },
                { text: 'Sign out', href: `${prefix}/sign_out` },
              ]
            : [],
      };
    case 429:
      return {
        title: 'Too many attempts',
        explanation:
          'Too many sign-in attempts failed for this user or from this address. Wait a few minutes, then try again.',
        links: tryAgain,
      };
    case 502:
    case 504:
      return {
        title: 'The application is not answering',
        explanation:
          'The sidecar let the request through, but the application behind it did not answer. Try again shortly.',
        links: tryAgain,
      };
    case 503:
      return {
        title: 'Temporarily unavailable',
        explanation: `${unavailable(error)} is not reachable right now. Try again in a few seconds.`,
        links: tryAgain,
      };
    default:
      return error.status >= 500 ? failed(tryAgain) : refused(error, login ? start('/') : undefined);
  }
}

function unavailable(error: SidecarError): string {
  if (error.code === 'oidc_provider_unavailable') return 'The sign-in service';
  if (error.code === 'session_store_unavailable') return 'The session store';
  if (error.code === 'jwks_unavailable') return 'The service that holds the token signing keys';
  return 'A service the sidecar needs';
}

function failed(links: Link[]): ErrorPage {
  return { title: 'Something went wrong', explanation: 'The sidecar could not answer this request.', links };
}

/** 4xx answers other than 401/403/429: the request itself, or a sign-in that went wrong. */
function refused(error: SidecarError, startUrl: string | undefined): ErrorPage {
  const startOver: Link[] = startUrl ? [{ text: 'Start the sign-in again', href: startUrl }] : [];
  switch (error.code) {
    case 'login_state_missing':
    case 'login_state_mismatch':
    case 'login_state_invalid':
      return {
        title: 'This sign-in cannot be completed',
        explanation:
          'The sign-in link was already used, has expired, or was started in another browser. Start the sign-in again.',
        links: startOver,
      };
    case 'login_failed':
    case 'provider_error':
    case 'unknown_provider':
      return { title: 'The sign-in did not complete', explanation: `${capitalize(error.message)}.`, links: startOver };
    case 'not_found':
      return { title: 'Not found', explanation: 'There is no such page here.', links: [] };
    default:
      return { title: 'The request was refused', explanation: `${capitalize(error.message)}.`, links: [] };
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The page as HTML: one heading, the words, the request id, the links. No script, no style sheet. */
export function renderHtml(page: ErrorPage, status: number, statusText: string, requestId: string): string {
  const links =
    page.links.length === 0
      ? ''
      : `<ul>${page.links.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a></li>`).join('')}</ul>`;
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${status} ${escapeHtml(statusText)}: ${escapeHtml(page.title)}</title></head><body>` +
    `<h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.explanation)}</p>${links}` +
    `<p><small>${status} ${escapeHtml(statusText)} · request id <code>${escapeHtml(requestId)}</code></small></p>` +
    '</body></html>\n'
  );
}
