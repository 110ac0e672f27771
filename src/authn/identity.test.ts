// Claims become an identity only with values the app can receive exactly: what the route rules
// judge is what the headers say.
import { describe, expect, it } from 'vitest';
import type { ClaimsConfig } from '../config/schema.ts';
import { type Identity, MAX_IDENTITY_VALUE_BYTES, mapClaims, unsendable } from './identity.ts';

const NAMES: ClaimsConfig = { user: 'sub', email: 'email', groups: 'groups', preferredUsername: 'preferred_username' };

function identity(claims: Record<string, unknown>): Identity {
  const mapped = mapClaims(claims, NAMES, 'jwt');
  if (!('identity' in mapped)) throw new Error(`no identity: ${mapped.refused}`);
  return mapped.identity;
}

function refusal(claims: Record<string, unknown>): string | undefined {
  const mapped = mapClaims(claims, NAMES, 'jwt');
  return 'refused' in mapped ? mapped.refused : undefined;
}

describe('the user claim', () => {
  it.each([
    ['ali\u0000ce', 'has a sub claim with a control character'],
    ['alice\t', 'has a sub claim with a control character'],
    ['alice ', 'has a sub claim with leading or trailing whitespace'],
    [' alice', 'has a sub claim with leading or trailing whitespace'],
    ['alice\r\nX-Injected: 1', 'has a sub claim with a control character'],
    ['alice\u007f', 'has a sub claim with a control character'],
    ['alice\u0085', 'has a sub claim with a control character'],
    ['alice\u00a0', 'has a sub claim with leading or trailing whitespace'],
    ['ali\ud800ce', 'has a sub claim with a lone UTF-16 surrogate'],
    ['a'.repeat(MAX_IDENTITY_VALUE_BYTES + 1), `has a sub claim with more than ${MAX_IDENTITY_VALUE_BYTES} bytes`],
    ['é'.repeat(MAX_IDENTITY_VALUE_BYTES / 2 + 1), `has a sub claim with more than ${MAX_IDENTITY_VALUE_BYTES} bytes`],
  ])('%j gives no identity (%s)', (sub, reason) => {
    expect(refusal({ sub })).toBe(reason);
  });

  it('a missing one gives no identity', () => {
    expect(refusal({})).toBe('has no sub claim');
  });

  it('keeps every value that can be sent exactly, unchanged', () => {
    for (const sub of ['alice', 'José Müller', 'a b', '日本', 'a'.repeat(MAX_IDENTITY_VALUE_BYTES), '12345']) {
      expect(identity({ sub }).user).toBe(sub);
    }
    expect(identity({ sub: 42 }).user).toBe('42');
  });
});

describe('email, preferred username and groups', () => {
  it('leave out a group that cannot be sent exactly, and keep the others', () => {
    const groups = ['ad\u0000mins', ' admins', 'admins ', 'ad\tmins', 'x,admins', 'a'.repeat(300), 'staff', 'dev ops'];
    expect(identity({ sub: 'carl', groups }).groups).toEqual(['staff', 'dev ops']);
  });

  it('read a comma-separated string as its trimmed items, leaving out those with control characters', () => {
    expect(identity({ sub: 'carl', groups: 'staff, dev ,ad\u0000mins' }).groups).toEqual(['staff', 'dev']);
  });

  it('leave out an email or preferred username that cannot be sent exactly', () => {
    const carl = identity({ sub: 'carl', email: 'alice@example.com\u0000', preferred_username: 'alice ' });
    expect(carl.email).toBeUndefined();
    expect(carl.preferredUsername).toBeUndefined();
    const dana = identity({ sub: 'dana', email: 'dana@example.com', preferred_username: 'Dana D.' });
    expect(dana.email).toBe('dana@example.com');
    expect(dana.preferredUsername).toBe('Dana D.');
  });
});

describe('unsendable', () => {
  it('names nothing for a value a header carries exactly', () => {
    expect(unsendable('alice@example.com')).toBeUndefined();
    expect(unsendable('Zoë')).toBeUndefined();
  });
});
