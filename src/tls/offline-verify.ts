// `explain --cert`: a client certificate checked as the listener's TLS stack checks it in a
// handshake, without one: a chain to a CA of tls.clientCaFile (the file's further certificates
// taken as the intermediates a client would send), every certificate's dates, and the
// client-authentication purpose; with OpenSSL's names for what fails, so that explain and the
// listener word a refusal alike. The request path never uses this: there OpenSSL decides.
import type { X509Certificate } from 'node:crypto';
import { type ClientCertificate, describeCertificate } from '../net/client-certificate.ts';
import type { ListenerTls } from './listener-tls.ts';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_PURPOSE = '2.5.29.37.0';
/** OpenSSL's default verify depth. */
const MAX_DEPTH = 100;

/** The facts of a presented chain (leaf first), verified or not against the listener's client CAs. */
export function presentedCertificate(
  chain: readonly X509Certificate[],
  tls: ListenerTls,
  now = Date.now(),
): ClientCertificate {
  const leaf = chain[0] as X509Certificate;
  const error = verifyError(chain, tls.clientCas, now);
  return describeCertificate(leaf, error === undefined, error);
}

function verifyError(
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  now: number,
): string | undefined {
  const path = pathToAnchor(chain, anchors);
  if (typeof path === 'string') return path;
  for (const certificate of path) {
    if (now < certificate.validFromDate.getTime()) return 'CERT_NOT_YET_VALID';
    if (now > certificate.validToDate.getTime()) return 'CERT_HAS_EXPIRED';
  }
  const usages = (chain[0] as X509Certificate).keyUsage;
  if (usages !== undefined && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_PURPOSE)) return 'INVALID_PURPOSE';
  return undefined;
}

/** The certificates from the leaf to a trusted CA, or OpenSSL's name for why there is no such path. */
function pathToAnchor(
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
): X509Certificate[] | string {
  const issuedBy = (issuer: X509Certificate, subject: X509Certificate) =>
    subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  let current = chain[0] as X509Certificate;
  const path = [current];
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (anchors.some((anchor) => anchor.fingerprint256 === current.fingerprint256)) return path;
    const anchor = anchors.find((a) => issuedBy(a, current));
    if (anchor) return [...path, anchor];
    const intermediate = chain.find((c) => c !== current && c.ca && issuedBy(c, current));
    if (!intermediate) {
      if (current.checkIssued(current))
        return path.length === 1 ? 'DEPTH_ZERO_SELF_SIGNED_CERT' : 'SELF_SIGNED_CERT_IN_CHAIN';
      return path.length === 1 ? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' : 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY';
    }
    current = intermediate;
    path.push(current);
  }
  return 'CERT_CHAIN_TOO_LONG';
}
