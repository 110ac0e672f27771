// The "mtls" method: the client certificate of the TLS connection, verified by the TLS stack
// against tls.clientCaFile, is the identity. It reads only the ClientCertificate fact, never the
// socket. A certificate that gives no identity (not verified, or without a usable user) is
// declined rather than refused: it came with the connection, not with the request, so another
// method the route accepts (a bearer token, a login session) may still be used.
import type { MtlsConfig } from '../../config/schema.ts';
import type { Rejection } from '../../errors.ts';
import { type ClientCertificate, certificateParser } from '../../net/client-certificate.ts';
import type { Authenticator, AuthRequest } from '../authenticator.ts';
import type { Identity } from '../identity.ts';
import { type CertificateIdentity, certificateIdentity } from './certificate-identity.ts';

/** OpenSSL's verification errors, as a client is told them. */
const VERIFY_ERRORS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'no trusted CA issued it',
  UNABLE_TO_GET_ISSUER_CERT: 'no trusted CA issued it',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'no trusted CA issued it',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'no trusted CA issued it',
  SELF_SIGNED_CERT_IN_CHAIN: 'no trusted CA issued it',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
  CERT_REVOKED: 'it is revoked',
  INVALID_PURPOSE: 'it is not meant for client authentication',
};

export class MtlsAuthenticator implements Authenticator {
  readonly method = 'mtls' as const;
  private readonly claims: MtlsConfig['claims'];
  /** A connection's certificate maps to one identity: mapped once, not on every request. */
  private readonly mapped = new WeakMap<ClientCertificate, CertificateIdentity>();

  constructor(claims: MtlsConfig['claims']) {
    this.claims = claims;
    certificateParser(); // loaded now, not on the first request with a certificate
  }

  authenticate({ clientCertificate }: AuthRequest): Promise<Identity | null> {
    if (clientCertificate === undefined || !usable(clientCertificate)) return Promise.resolve(null);
    const mapped = this.map(clientCertificate);
    return Promise.resolve('identity' in mapped ? mapped.identity : null);
  }

  declined({ clientCertificate }: AuthRequest): Rejection | undefined {
    if (clientCertificate === undefined) return undefined;
    if (!usable(clientCertificate)) {
      const error = clientCertificate.verified ? 'CERT_HAS_EXPIRED' : (clientCertificate.verifyError ?? '');
      const why = VERIFY_ERRORS[error] ?? `the TLS stack refused it (${error})`;
      return rejection(`the client certificate is not verified: ${why}`, 'certificate_unverified');
    }
    const mapped = this.map(clientCertificate);
    return 'refused' in mapped ? rejection(`the client certificate ${mapped.refused}`, 'no_user_claim') : undefined;
  }

  private map(certificate: ClientCertificate): CertificateIdentity {
    let mapped = this.mapped.get(certificate);
    if (mapped === undefined) {
      mapped = certificateIdentity(certificate, this.claims);
      this.mapped.set(certificate, mapped);
    }
    return mapped;
  }
}

/** Verified at the handshake, and not expired since: a keep-alive connection can outlive it. */
function usable(certificate: ClientCertificate): boolean {
  return certificate.verified && Date.now() < certificate.notAfter;
}

function rejection(description: string, reason: Rejection['reason']): Rejection {
  return { method: 'mtls', error: 'invalid_request', code: 'invalid_client_certificate', description, reason };
}
