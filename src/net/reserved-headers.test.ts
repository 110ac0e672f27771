import { describe, expect, it } from 'vitest';
import type { Identity } from '../authn/identity.ts';
import { AUTH_REQUEST_HEADERS } from '../endpoints/forward-auth.ts';
import { buildUpstreamHeaders, IDENTITY_HEADERS } from '../upstream/headers.ts';
import { RESERVED_HEADERS } from './reserved-headers.ts';

describe('RESERVED_HEADERS', () => {
  it('holds every header the sidecar sets for the app or a forward-auth caller', () => {
    const identity: Identity = {
      user: 'alice',
      method: 'session',
      email: 'alice@example.com',
      preferredUsername: 'Alice',
      groups: ['staff'],
      scopes: [],
      claims: {},
      accessToken: 'at',
    };
    const facts = { trusted: false, peerAddress: '203.0.113.9', scheme: 'http' as const, requestId: 'r' };
    const policy = { dropUnderscoreHeaders: true, passBasicAuthorization: false, passAccessToken: true };
    const added = buildUpstreamHeaders(['Host', 'app'], identity, facts, policy).filter((_, i) => i % 2 === 0);
    const own = [...added, ...Object.values(IDENTITY_HEADERS), ...Object.values(AUTH_REQUEST_HEADERS)];
    expect(own.map((name) => name.toLowerCase()).filter((name) => !RESERVED_HEADERS.has(name))).toEqual([]);
  });

  it('is all lower case', () => {
    expect([...RESERVED_HEADERS].filter((name) => name !== name.toLowerCase())).toEqual([]);
  });
});
