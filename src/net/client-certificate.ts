// The client certificate of a TLS connection, as plain facts: whether the TLS stack verified it
// against tls.clientCaFile, and the names it carries. Read once per connection (a connection's
// certificate cannot change: the listener refuses renegotiation), and only when the mtls method
// is on. The names come from the certificate's DER through an ASN.1 parser, never from Node's
// "DNS:a, URI:b" text form, whose splitting is ambiguous (CVE-2021-44532). Parsing costs far
// more than the handshake's own reading of the certificate, and clients reconnect with the
// same one, so names are remembered by the certificate's SHA-256 fingerprint.
import type { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import type { TLSSocket } from 'node:tls';
import type * as Asn1Schema from '@peculiar/asn1-schema';
import type * as Asn1X509 from '@peculiar/asn1-x509';
import { LRUCache } from 'lru-cache';

export interface CertificateNames {
  /** The subject's common names (2.5.4.3), in the certificate's order. */
  readonly subjectCN: readonly string[];
  /** Subject alternative names by kind, in the certificate's order. */
  readonly sanEmail: readonly string[];
  /** URIs: a SPIFFE ID (spiffe://trust-domain/path) is one. */
  readonly sanUri: readonly string[];
  readonly sanDns: readonly string[];
}

export interface ClientCertificate extends CertificateNames {
  /** The TLS stack verified it (chain to a CA of tls.clientCaFile, dates): socket.authorized. */
  readonly verified: boolean;
  /** Why it is not verified, as OpenSSL names it (CERT_HAS_EXPIRED, ...); undefined when it is. */
  readonly verifyError: string | undefined;
  /** Epoch milliseconds after which the certificate no longer holds. */
  readonly notAfter: number;
}

const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';
const NO_NAMES: CertificateNames = Object.freeze({ subjectCN: [], sanEmail: [], sanUri: [], sanDns: [] });

type Parser = Pick<typeof Asn1Schema, 'AsnConvert'> & Pick<typeof Asn1X509, 'Certificate' | 'SubjectAlternativeName'>;
let parser: Parser | undefined;

/**
 * The ASN.1 parser, loaded on first use (its modules take ~50 ms to load): a process that never
 * reads a client certificate (a plain listener, check-config, explain without --cert) never
 * pays for it. The mtls authenticator loads it when it is built, not on a request.
 */
export function certificateParser(): Parser {
  if (parser === undefined) {
    const require = createRequire(import.meta.url);
    const { AsnConvert } = require('@peculiar/asn1-schema') as typeof Asn1Schema;
    const { Certificate, SubjectAlternativeName } = require('@peculiar/asn1-x509') as typeof Asn1X509;
    parser = { AsnConvert, Certificate, SubjectAlternativeName };
  }
  return parser;
}

/** Names of certificates seen lately: a function of the DER, so safe to share across connections. */
const namesOf = new LRUCache<string, CertificateNames>({ max: 1000 });

/** Null: the connection presented no certificate. Keyed by socket, so a connection is read once. */
const byConnection = new WeakMap<TLSSocket, ClientCertificate | null>();

/**
 * Connections whose certificate was verified by client CAs that a reload has since replaced:
 * their handshake cannot be redone, so they give no identity any more and close after the
 * response in flight (the client reconnects, and the new CAs verify it).
 */
const retired = new WeakSet<TLSSocket>();

export function retireConnection(socket: TLSSocket): void {
  retired.add(socket);
}

export function isRetired(socket: TLSSocket): boolean {
  return retired.has(socket);
}

/** The certificate the client presented on this TLS connection, or undefined. */
export function clientCertificateOf(socket: TLSSocket): ClientCertificate | undefined {
  if (retired.has(socket)) return undefined;
  let certificate = byConnection.get(socket);
  if (certificate === undefined) {
    certificate = readPeer(socket);
    byConnection.set(socket, certificate);
  }
  return certificate ?? undefined;
}

function readPeer(socket: TLSSocket): ClientCertificate | null {
  const peer = socket.getPeerX509Certificate();
  if (peer === undefined) return null;
  return describeCertificate(peer, socket.authorized, socket.authorized ? undefined : errorCode(socket));
}

function errorCode(socket: TLSSocket): string {
  const error: unknown = socket.authorizationError;
  if (typeof error === 'string') return error;
  return (error as { code?: string } | undefined)?.code ?? 'UNKNOWN';
}

/** The facts of a certificate, verified (or not) by whoever checked it. */
export function describeCertificate(
  certificate: X509Certificate,
  verified: boolean,
  verifyError: string | undefined,
): ClientCertificate {
  const fingerprint = certificate.fingerprint256;
  let names = namesOf.get(fingerprint);
  if (names === undefined) {
    names = certificateNames(certificate.raw);
    namesOf.set(fingerprint, names);
  }
  return {
    ...names,
    verified,
    verifyError: verified ? undefined : (verifyError ?? 'UNKNOWN'),
    notAfter: Date.parse(certificate.validTo),
  };
}

/**
 * The subject CNs and alternative names of a DER certificate. One the parser cannot read whole
 * has no names (so it gives no identity), whatever the TLS stack made of it.
 */
export function certificateNames(der: Uint8Array): CertificateNames {
  const { AsnConvert, Certificate, SubjectAlternativeName } = certificateParser();
  try {
    return readNames(AsnConvert.parse(der, Certificate).tbsCertificate, (value) =>
      AsnConvert.parse(value, SubjectAlternativeName),
    );
  } catch {
    return NO_NAMES;
  }
}

function readNames(
  tbs: Asn1X509.Certificate['tbsCertificate'],
  alternativeNames: (value: Asn1X509.Extension['extnValue']) => Asn1X509.SubjectAlternativeName,
): CertificateNames {
  const names = { subjectCN: [] as string[], sanEmail: [] as string[], sanUri: [] as string[], sanDns: [] as string[] };
  for (const rdn of tbs.subject) {
    for (const attribute of rdn) if (attribute.type === COMMON_NAME) names.subjectCN.push(attribute.value.toString());
  }
  const extension = tbs.extensions?.find((e) => e.extnID === SUBJECT_ALT_NAME);
  if (extension === undefined) return names;
  for (const name of alternativeNames(extension.extnValue)) {
    if (name.rfc822Name !== undefined) names.sanEmail.push(name.rfc822Name);
    if (name.uniformResourceIdentifier !== undefined) names.sanUri.push(name.uniformResourceIdentifier);
    if (name.dNSName !== undefined) names.sanDns.push(name.dNSName);
  }
  return names;
}
