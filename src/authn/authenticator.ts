// The authenticator contract and the chain that runs the ones a route accepts.
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthMethod } from '../config/schema.ts';
import { type Rejection, UnauthorizedError } from '../errors.ts';
import type { ClientCertificate } from '../net/client-certificate.ts';
import type { Authorization } from './authorization-header.ts';
import type { Identity } from './identity.ts';

/** What an authenticator may read of a request: plain values, never the Node request. */
export interface AuthRequest {
  /** Lower-case names, as Node gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The request's single Authorization header, parsed (duplicates were refused earlier). */
  readonly authorization: Authorization | undefined;
  /** The client's address, as trustedProxies allow it to be known. */
  readonly clientAddress: string;
  /**
   * The certificate the client presented in the TLS handshake, verified or not; undefined when
   * there is none, when the mtls method is off, and for a forward-auth check.
   */
  readonly clientCertificate?: ClientCertificate | undefined;
}

export interface Authenticator {
  readonly method: AuthMethod;
  /**
   * The identity the request proves; null when it carries no credential of this kind.
   * A credential that is present but invalid throws UnauthorizedError: it never falls through
   * to the next authenticator.
   */
  authenticate(request: AuthRequest): Promise<Identity | null>;
  /**
   * Why a credential of this kind that the request carries gave no identity, when that must not
   * refuse the request by itself: an unverified client certificate comes with the connection,
   * not with the request, and another method the route accepts may still prove who the caller
   * is. Reported as the refusal when no method does.
   */
  declined?(request: AuthRequest): Rejection | undefined;
  /** Releases timers and connections when a reload replaces this authenticator. */
  close?(): Promise<void> | void;
}

/**
 * First authenticator that recognises its credential decides. Null when none does; a declined
 * credential (see Authenticator.declined) is then the refusal.
 */
export async function authenticateWith(
  authenticators: readonly Authenticator[],
  request: AuthRequest,
): Promise<Identity | null> {
  let declined: Rejection | undefined;
  for (const authenticator of authenticators) {
    const identity = await authenticator.authenticate(request);
    if (identity !== null) return identity;
    declined ??= authenticator.declined?.(request);
  }
  if (declined !== undefined) throw new UnauthorizedError(declined);
  return null;
}
