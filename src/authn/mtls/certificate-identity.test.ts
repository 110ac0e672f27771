// A verified certificate's names as an identity, by mtls.claims.
import { describe, expect, it } from 'vitest';
import { DEFAULT_MTLS } from '../../config/schema.ts';
import type { ClientCertificate } from '../../net/client-certificate.ts';
import { certificateIdentity } from './certificate-identity.ts';

const certificate = (names: Partial<ClientCertificate>): ClientCertificate => ({
  subjectCN: [],
  sanEmail: [],
  sanUri: [],
  sanDns: [],
  verified: true,
  verifyError: undefined,
  notAfter: Date.parse('2030-01-01T00:00:00Z'),
  ...names,
});

describe('certificateIdentity', () => {
  it('takes the first value of each named field, and the certificate’s end as the expiry', () => {
    const mapped = certificateIdentity(
      certificate({ subjectCN: ['alice', 'other'], sanEmail: ['alice@example.com', 'b@example.com'] }),
      DEFAULT_MTLS.claims,
    );
    expect(mapped).toEqual({
      identity: {
        user: 'alice',
        method: 'mtls',
        email: 'alice@example.com',
        groups: [],
        scopes: [],
        claims: {
          subject: { CN: ['alice', 'other'] },
          san: { email: ['alice@example.com', 'b@example.com'], uri: [], dns: [] },
        },
        expiresAt: Date.parse('2030-01-01T00:00:00Z'),
      },
    });
  });

  it('names the user by a DNS name when told to', () => {
    const mapped = certificateIdentity(certificate({ sanDns: ['api.prod'] }), { user: 'san.dns', email: 'san.email' });
    expect('identity' in mapped && mapped.identity.user).toBe('api.prod');
  });

  it('refuses a user the app could not receive exactly, and leaves out such an email', () => {
    const refused = (cn: string) => certificateIdentity(certificate({ subjectCN: [cn] }), DEFAULT_MTLS.claims);
    expect(refused('bob\u0085')).toEqual({ refused: 'has a subject.CN with a control character' });
    expect(refused('\tbob')).toEqual({ refused: 'has a subject.CN with a control character' });
    expect(refused(' bob')).toEqual({ refused: 'has a subject.CN with leading or trailing whitespace' });
    expect(refused('b\ud800ob')).toEqual({ refused: 'has a subject.CN with a lone UTF-16 surrogate' });
    expect(refused('b'.repeat(257))).toEqual({ refused: 'has a subject.CN with more than 256 bytes' });
    expect(refused('')).toEqual({ refused: 'has no subject.CN' });
    const mapped = certificateIdentity(
      certificate({ subjectCN: ['bob'], sanEmail: ['bob@example.com\r\nX-Forwarded-User: root'] }),
      DEFAULT_MTLS.claims,
    );
    expect('identity' in mapped && mapped.identity.email).toBeUndefined();
  });
});
