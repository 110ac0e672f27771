// The names of a certificate, read from its DER: what the mtls method maps to an identity.
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CertificateAuthority, createCa, EXPIRED, issue } from '../../test/support/certificates.ts';
import { certificateNames, describeCertificate } from './client-certificate.ts';

let ca: CertificateAuthority;

beforeAll(() => {
  ca = createCa('Names CA');
});

describe('certificate names', () => {
  it('reads the subject CN and every email, URI and DNS name, in order', () => {
    const issued = issue(ca, 'all', {
      cn: 'billing',
      san: ['URI:spiffe://example.org/a', 'email:ops@example.org', 'DNS:billing.prod', 'IP:10.0.0.1', 'URI:urn:x'],
    });
    expect(certificateNames(new X509Certificate(issued.cert).raw)).toEqual({
      subjectCN: ['billing'],
      sanEmail: ['ops@example.org'],
      sanUri: ['spiffe://example.org/a', 'urn:x'],
      sanDns: ['billing.prod'],
    });
  });

  it('keeps a name with ", " in it whole: one name, never two (CVE-2021-44532)', () => {
    const issued = issue(ca, 'comma', { cn: 'x', san: ['URI:spiffe://evil/a, URI:spiffe://example.org/admin'] });
    const names = certificateNames(new X509Certificate(issued.cert).raw);
    expect(names.sanUri).toEqual(['spiffe://evil/a, URI:spiffe://example.org/admin']);
  });

  it('gives no names for bytes that are no certificate', () => {
    expect(certificateNames(Buffer.from('not DER'))).toEqual({ subjectCN: [], sanEmail: [], sanUri: [], sanDns: [] });
  });

  it('carries the end of validity, and a reason only when not verified', () => {
    const expired = new X509Certificate(issue(ca, 'old', { cn: 'old', ...EXPIRED }).cert);
    expect(describeCertificate(expired, false, 'CERT_HAS_EXPIRED')).toMatchObject({
      verified: false,
      verifyError: 'CERT_HAS_EXPIRED',
      notAfter: Date.parse('2020-01-02T00:00:00Z'),
      subjectCN: ['old'],
    });
    expect(describeCertificate(expired, true, 'ignored').verifyError).toBeUndefined();
  });
});
