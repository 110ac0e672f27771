// POST {pathPrefix}/backchannel_logout (OpenID Connect Back-Channel Logout 1.0): a provider
// says a user's session ended. The token's `iss` names the provider, whose keys and client id
// verify it; a verified logout_token ends every session of that provider filed under its sid
// (the provider's session) or, without a sid, its sub (the user). 200 when done; 400 for a
// token that must not be honoured; 503 when the store or the provider's keys are out of reach.

import type { Services } from '../decision/runtime.ts';
import { BadRequestError } from '../errors.ts';
import type { Context } from '../http/context.ts';
import type { Endpoint } from '../http/sidecar-endpoints.ts';
import { continueIfExpected } from '../net/raw-http.ts';
import { unverifiedIssuer } from '../oidc/logout-token.ts';
import { indexName } from '../sessions/sessions.ts';
import { requireLogin } from './require-login.ts';

const MAX_BODY_BYTES = 64 * 1024;

export function backchannelLogoutEndpoint(services: Services): Endpoint {
  return {
    methods: ['POST'],
    async handle(ctx) {
      const login = requireLogin(ctx);
      const { store } = ctx.state.runtime;
      let ended: number;
      try {
        const token = (await readForm(ctx)).get('logout_token');
        if (!token) throw new BadRequestError('invalid_request', 'the logout_token parameter is missing');
        const provider = login.providers.issuedBy(unverifiedIssuer(token));
        if (provider === undefined) {
          throw new BadRequestError(
            'invalid_logout_token',
            'the logout token is not valid: no configured provider issued it',
          );
        }
        const { sid, sub } = await provider.logoutTokens.verify(token, store);
        const { issuer } = provider;
        const index = sid !== undefined ? indexName('sid', issuer, sid) : indexName('sub', issuer, sub as string);
        ended = await login.sessions.endIndexed(index);
      } catch (error) {
        if (error instanceof BadRequestError) services.metrics.backchannelLogouts.inc({ result: 'rejected' });
        throw error;
      }
      services.metrics.backchannelLogouts.inc({ result: 'accepted' });
      services.logger.info({ reqId: ctx.state.requestId, sessions: ended }, 'back-channel logout');
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 200;
      ctx.body = '';
    },
  };
}

/** The application/x-www-form-urlencoded body, read up to a limit (the pipeline parses none). */
async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new BadRequestError('invalid_request', 'send application/x-www-form-urlencoded', 415);
  }
  continueIfExpected(ctx.req, ctx.res);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequestError('invalid_request', 'the request body is too large', 413);
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
