// GET {pathPrefix}/start?rd=/path: begins a login. A new attempt (state, nonce, PKCE S256) is
// stored, bound to this browser by the attempt's own login cookie (so logins in several tabs
// never undo each other), and the browser goes to the provider.
import type { Endpoint } from '../http/sidecar-endpoints.ts';
import { safeRedirect } from '../oidc/redirect.ts';
import { requireLogin } from './require-login.ts';

export function startEndpoint(): Endpoint {
  return {
    methods: ['GET', 'HEAD'],
    async handle(ctx) {
      const login = requireLogin(ctx);
      const rd = safeRedirect(ctx.query.rd, login.publicUrl);
      // Discovery first: with the provider out of reach, nothing is stored and the answer is 503.
      await login.client.metadata();
      const request = await login.states.begin(rd);
      const location = await login.client.authorizationUrl(request);
      ctx.append('Set-Cookie', login.cookies.startLogin(ctx.req, request.state, request.binding));
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(location.href);
    },
  };
}
