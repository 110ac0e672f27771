// GET {pathPrefix}/jwks.json: the public keys of the identity token (identityToken), one per
// configured key file, so that the app and the services it calls can verify the token. Public
// by nature: no credentials, no route rules. Without identityToken there is nothing to publish
// and the path is unknown (404), as for any other path under pathPrefix.
import { NotFoundError } from '../errors.ts';
import type { Endpoint } from '../http/sidecar-endpoints.ts';

/** Verifiers may keep the keys this long; a rotation publishes the next key first (see docs). */
const MAX_AGE_SECONDS = 300;

export function jwksEndpoint(): Endpoint {
  return {
    methods: ['GET', 'HEAD'],
    async handle(ctx) {
      const signer = ctx.state.runtime.identityToken;
      if (!signer) throw new NotFoundError();
      ctx.set('Cache-Control', `max-age=${MAX_AGE_SECONDS}`);
      ctx.body = await signer.jwks();
    },
  };
}
