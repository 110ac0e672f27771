// GET or POST {pathPrefix}/sign_out?rd=/path: ends the browser's session in the store (so the
// cookie is worthless even if it was copied), clears the cookie, and, when the provider has an
// end_session_endpoint, sends the browser there (id_token_hint, post_logout_redirect_uri = this
// endpoint, state = rd) so that the provider's session ends too: the provider the session came
// from, when several are configured. The provider sends the browser back here with `state`,
// which is then the rd: with no session left, it goes on to rd.
import type { Endpoint } from '../http/sidecar-endpoints.ts';
import { safeRedirect } from '../oidc/redirect.ts';
import { requireLogin } from './require-login.ts';

export function signOutEndpoint(): Endpoint {
  return {
    methods: ['GET', 'POST'],
    async handle(ctx) {
      const login = requireLogin(ctx);
      const rd = safeRedirect(ctx.query.rd ?? ctx.query.state, login.publicUrl);
      const session = await login.sessions.load(login.cookies.sessionValues(ctx.req));
      if (session) await login.sessions.end(session.ticket);
      ctx.append('Set-Cookie', login.cookies.clearSession());
      ctx.set('Cache-Control', 'no-store');
      const provider = session ? login.providers.recorded(session.record.issuer) : undefined;
      const endSession = await provider?.client.endSessionUrl({
        idTokenHint: session?.record.idToken,
        postLogoutRedirectUri: login.signOutUrl,
        state: rd,
      });
      ctx.redirect(endSession?.href ?? rd);
    },
  };
}
