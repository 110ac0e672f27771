// What a decision is made on: plain facts about one request, read once from wherever the
// request is (a request to this listener, the original request a forward-auth caller names,
// or the command line of `explain`). No Node request object and no Koa context: the same
// facts give the same decision in all three places.
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthRequest } from '../authn/authenticator.ts';
import type { Target } from '../net/normalize-path.ts';
import { preflightFor } from '../net/preflight.ts';

export interface RequestFacts extends AuthRequest {
  /** Undefined when a forward-auth caller did not say: then only routes without `methods` apply. */
  readonly method: string | undefined;
  /** Normalized; undefined when not known (an untrusted forward-auth caller): the default rule applies. */
  readonly target: Target | undefined;
  /**
   * "direct": the request arrived at this listener, so the sidecar's own endpoints under
   * pathPrefix answer it. "check": another proxy asks about a request it holds (forward-auth):
   * the route rules decide every path.
   */
  readonly via: 'direct' | 'check';
  /** For a CORS preflight, the method it announces; undefined for any other request. */
  readonly preflight: string | undefined;
}

export interface FactsInput {
  readonly method: string | undefined;
  readonly target: Target | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly authorization: AuthRequest['authorization'];
  readonly clientAddress: string;
  readonly via: RequestFacts['via'];
  readonly clientCertificate?: AuthRequest['clientCertificate'];
}

/**
 * The facts, with what is derived from them computed once. A check has no client certificate:
 * the one on the connection it arrives on is the asking proxy's, never the checked client's,
 * so mtls never matches there.
 */
export function requestFacts(input: FactsInput): RequestFacts {
  return {
    ...input,
    clientCertificate: input.via === 'check' ? undefined : input.clientCertificate,
    preflight: preflightFor(input.method, input.headers),
  };
}
