// GET {pathPrefix}/callback: the provider sends the browser back here (one callback URI for
// every provider). The login attempt named by `state` is taken (once) and must open with this
// browser's login cookie; it names the provider it was started at, and only that provider's
// client handles the rest (mix-up protection): openid-client checks the response (state, and
// RFC 9207's iss against that provider's issuer: a response from another provider fails),
// exchanges the code at that provider with the PKCE verifier, and verifies the ID token
// (signature, iss, aud, exp, nonce). Only then is a session created, under a new ticket (a
// session id is never carried over from before the login), and the browser goes to the `rd`
// it asked for at the start. Any failure is a 400 and no session.
import { claimAt } from '../authn/identity.ts';
import type { Services } from '../decision/runtime.ts';
import { BadRequestError, SidecarError } from '../errors.ts';
import type { Context } from '../http/context.ts';
import type { Endpoint } from '../http/sidecar-endpoints.ts';
import type { Login } from '../oidc/login.ts';
import { reasonOf, type Tokens } from '../oidc/provider-client.ts';
import type { Provider } from '../oidc/providers.ts';
import { identityOf, newRecord } from '../oidc/session-record.ts';
import { indexName } from '../sessions/sessions.ts';
import { requireLogin } from './require-login.ts';

export function callbackEndpoint(services: Services): Endpoint {
  return {
    methods: ['GET'],
    async handle(ctx) {
      const login = requireLogin(ctx);
      try {
        await finishLogin(ctx, login);
        services.metrics.logins.inc({ result: 'success' });
      } catch (error) {
        if (error instanceof SidecarError) {
          services.metrics.logins.inc({ result: error.status === 400 ? 'refused' : 'failed' });
          services.logger.info(
            {
              reqId: ctx.state.requestId,
              errorCode: error.code,
              reason: error.cause ? reasonOf(error.cause) : undefined,
            },
            'login not completed',
          );
        }
        throw error;
      }
    },
  };
}

async function finishLogin(ctx: Context, login: Login): Promise<void> {
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
  const binding = state === undefined ? undefined : login.cookies.binding(ctx.req, state);
  const pending = await login.states.finish(state, binding);
  const provider = login.providers.recorded(pending.issuer);
  if (provider === undefined) {
    throw new BadRequestError(
      'login_state_invalid',
      'the login was started at a provider that is no longer configured',
    );
  }
  const tokens = await provider.client.exchange(ctx.querystring, {
    expectedState: state as string,
    expectedNonce: pending.nonce,
    pkceCodeVerifier: pending.codeVerifier,
  });
  const claims = await claimsOf(provider, tokens);
  const record = newRecord(provider, tokens, claims, Date.now() + login.sessionTtlMs);
  const mapped = identityOf(record, provider);
  if ('refused' in mapped) {
    throw new SidecarError('login_failed', `the provider's answer ${mapped.refused}`);
  }
  // A session this browser had before ends: one browser, one session.
  const previous = await login.sessions.load(login.cookies.sessionValues(ctx.req));
  if (previous) await login.sessions.end(previous.ticket);
  const value = await login.sessions.create(record, indexesOf(provider, claims));
  ctx.append('Set-Cookie', login.cookies.setSession(value));
  ctx.append('Set-Cookie', login.cookies.clearBinding(state as string));
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(pending.rd);
}

/** The ID token's claims, completed from userinfo when it lacks the configured ones. */
async function claimsOf(provider: Provider, tokens: Tokens): Promise<Readonly<Record<string, unknown>>> {
  const fromIdToken = tokens.claims ?? {};
  const { user, email, groups, preferredUsername } = provider.claims;
  const wanted = [user, email, groups, preferredUsername];
  if (wanted.every((name) => claimAt(fromIdToken, name) !== undefined) || typeof fromIdToken.sub !== 'string') {
    return fromIdToken;
  }
  const fromUserinfo = await provider.client.userinfo(tokens.accessToken, fromIdToken.sub);
  // What the ID token says (signed, verified) wins over userinfo.
  return { ...fromUserinfo, ...fromIdToken };
}

/** Back-channel logout names sessions by the provider's session id (sid) or subject (sub). */
function indexesOf({ issuer }: Provider, claims: Readonly<Record<string, unknown>>): string[] {
  const indexes: string[] = [];
  if (typeof claims.sid === 'string') indexes.push(indexName('sid', issuer, claims.sid));
  if (typeof claims.sub === 'string') indexes.push(indexName('sub', issuer, claims.sub));
  return indexes;
}
