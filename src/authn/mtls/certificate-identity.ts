// A verified client certificate as an identity: mtls.claims names the certificate fields that
// give the user and the email. The user is the first value of its field; a certificate whose
// user the app could not receive exactly (a control character, surrounding whitespace: the
// rule of identity.ts) gives no identity, and such an email is left out.
import type { CertificateField, MtlsConfig } from '../../config/schema.ts';
import type { CertificateNames, ClientCertificate } from '../../net/client-certificate.ts';
import { type MappedIdentity, unsendable } from '../identity.ts';

/** An identity, or why the certificate gives none: a phrase that follows "the client certificate". */
export type CertificateIdentity = MappedIdentity;

const FIELDS: Record<CertificateField, keyof CertificateNames> = {
  'subject.CN': 'subjectCN',
  'san.email': 'sanEmail',
  'san.uri': 'sanUri',
  'san.dns': 'sanDns',
};

export function certificateIdentity(certificate: ClientCertificate, claims: MtlsConfig['claims']): CertificateIdentity {
  const user = certificate[FIELDS[claims.user]][0];
  if (user === undefined || user === '') return { refused: `has no ${claims.user}` };
  const problem = unsendable(user);
  if (problem !== undefined) return { refused: `has a ${claims.user} with ${problem}` };
  const email = certificate[FIELDS[claims.email]][0];
  return {
    identity: {
      user,
      method: 'mtls',
      email: email !== undefined && email !== '' && unsendable(email) === undefined ? email : undefined,
      groups: [],
      scopes: [],
      claims: {
        subject: { CN: certificate.subjectCN },
        san: { email: certificate.sanEmail, uri: certificate.sanUri, dns: certificate.sanDns },
      },
      expiresAt: certificate.notAfter,
    },
  };
}
