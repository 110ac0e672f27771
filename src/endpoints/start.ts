// GET {pathPrefix}/start?provider=NAME&rd=/path: begins a login at that provider (the only
// one when a single provider is configured). A new attempt (state, nonce, PKCE S256) is
// stored, bound to this browser by the attempt's own login cookie (so logins in several tabs
// never undo each other) and to the provider, and the browser goes to the provider. With
// several providers and none named, the answer is the page that lets the user choose one.
import { BadRequestError } from '../errors.ts';
import type { Context } from '../http/context.ts';
import type { Endpoint } from '../http/sidecar-endpoints.ts';
import type { Login } from '../oidc/login.ts';
import type { Provider } from '../oidc/providers.ts';
import { safeRedirect } from '../oidc/redirect.ts';
import { renderProviderChoice } from './provider-choice.ts';
import { requireLogin } from './require-login.ts';

export function startEndpoint(): Endpoint {
  return {
    methods: ['GET', 'HEAD'],
    async handle(ctx) {
      const login = requireLogin(ctx);
      const rd = safeRedirect(ctx.query.rd, login.publicUrl);
      const provider = chosenProvider(ctx, login);
      if (provider === undefined) {
        renderProviderChoice(ctx, login.providers.list, login.startPath, rd);
        return;
      }
      // Discovery first: with the provider out of reach, nothing is stored and the answer is 503.
      await provider.client.metadata();
      const request = await login.states.begin(rd, provider.issuer);
      const location = await provider.client.authorizationUrl(request);
      ctx.append('Set-Cookie', login.cookies.startLogin(ctx.req, request.state, request.binding));
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(location.href);
    },
  };
}

/** The provider `?provider=` names, else the only one; undefined: let the user choose. */
function chosenProvider(ctx: Context, login: Login): Provider | undefined {
  const name = ctx.query.provider;
  if (name === undefined) return login.providers.only;
  const provider = typeof name === 'string' ? login.providers.named(name) : undefined;
  if (provider === undefined) {
    throw new BadRequestError('unknown_provider', 'the provider parameter names no configured login provider');
  }
  return provider;
}
