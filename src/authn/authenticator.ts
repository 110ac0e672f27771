// The authenticator contract and the chain that runs the ones a route accepts.
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthMethod } from '../config/schema.ts';
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
}

export interface Authenticator {
  readonly method: AuthMethod;
  /**
   * The identity the request proves; null when it carries no credential of this kind.
   * A credential that is present but invalid throws UnauthorizedError: it never falls through
   * to the next authenticator.
   */
  authenticate(request: AuthRequest): Promise<Identity | null>;
  /** Releases timers and connections when a reload replaces this authenticator. */
  close?(): Promise<void> | void;
}

/** First authenticator that recognises its credential decides. */
export async function authenticateWith(
  authenticators: readonly Authenticator[],
  request: AuthRequest,
): Promise<Identity | null> {
  for (const authenticator of authenticators) {
    const identity = await authenticator.authenticate(request);
    if (identity !== null) return identity;
  }
  return null;
}
