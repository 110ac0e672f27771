import { describe, expect, it } from 'vitest';
import type { Identity } from '../authn/identity.ts';
import { emailDomain, evaluate } from './policy.ts';

function identity(extra: Partial<Identity> = {}): Identity {
  return { user: 'alice', method: 'jwt', groups: [], scopes: [], claims: {}, ...extra };
}

describe('evaluate', () => {
  it('allows any identity when the route has no allow rules', () => {
    expect(evaluate(identity(), undefined)).toEqual({ allow: true, reason: 'the route has no allow rules' });
  });

  it('matches users exactly', () => {
    expect(evaluate(identity(), { users: ['bob', 'alice'] }).allow).toBe(true);
    expect(evaluate(identity({ user: 'Alice' }), { users: ['alice'] })).toMatchObject({ allow: false, rule: 'users' });
  });

  it('matches emails without regard to case, and never without an email', () => {
    expect(evaluate(identity({ email: 'Alice@Corp.com' }), { emails: ['alice@corp.com'] }).allow).toBe(true);
    expect(evaluate(identity(), { emails: ['alice@corp.com'] })).toMatchObject({ allow: false, rule: 'emails' });
  });

  it.each([
    ['alice@corp.com', true],
    ['ALICE@CORP.COM', true],
    ['alice@evil.com@corp.com', false],
    ['alice@sub.corp.com', false],
    ['alice@corp.com.evil.com', false],
    ['corp.com', false],
    ['@corp.com', false],
    ['alice@', false],
  ])('email domain of %s is corp.com: %s', (email, allowed) => {
    expect(evaluate(identity({ email }), { emailDomains: ['corp.com'] }).allow).toBe(allowed);
  });

  it('lets in a login session from a listed provider only, and never a bearer or basic identity', () => {
    const session = (provider: string | undefined) => identity({ method: 'session', provider });
    expect(evaluate(session('corp'), { providers: ['partners', 'corp'] })).toMatchObject({ allow: true });
    expect(evaluate(session('partners'), { providers: ['corp'] })).toMatchObject({
      allow: false,
      rule: 'providers',
      reason: 'provider "partners" is not listed',
    });
    expect(evaluate(session(undefined), { providers: ['corp'] })).toMatchObject({ allow: false, rule: 'providers' });
    for (const method of ['jwt', 'basic'] as const) {
      expect(evaluate(identity({ method }), { providers: ['corp'] })).toMatchObject({
        allow: false,
        rule: 'providers',
      });
    }
  });

  it('needs any one listed group', () => {
    expect(evaluate(identity({ groups: ['dev', 'admins'] }), { groups: ['admins', 'ops'] }).allow).toBe(true);
    expect(evaluate(identity({ groups: ['Admins'] }), { groups: ['admins'] })).toMatchObject({
      allow: false,
      rule: 'groups',
    });
  });

  it('needs every listed scope, and names the missing ones', () => {
    expect(evaluate(identity({ scopes: ['read', 'write'] }), { scopes: ['read', 'write'] }).allow).toBe(true);
    expect(evaluate(identity({ scopes: ['read'] }), { scopes: ['read', 'write', 'admin'] })).toEqual({
      allow: false,
      rule: 'scopes',
      reason: 'missing scope write, admin',
      missingScopes: ['write', 'admin'],
    });
  });

  it('needs every key to hold, and checks scopes last', () => {
    const allow = { groups: ['admins'], emailDomains: ['corp.com'], scopes: ['read'] };
    const good = identity({ groups: ['admins'], email: 'a@corp.com', scopes: ['read'] });
    expect(evaluate(good, allow)).toEqual({
      allow: true,
      reason: 'email domain is listed; a listed group is held; every listed scope is held',
    });
    expect(evaluate({ ...good, groups: [] }, allow)).toMatchObject({ rule: 'groups' });
    expect(evaluate({ ...good, email: 'a@other.com' }, allow)).toMatchObject({ rule: 'emailDomains' });
    // Missing both a group and a scope: the group is what is reported, not insufficient_scope.
    expect(evaluate({ ...good, groups: [], scopes: [] }, allow)).toMatchObject({ rule: 'groups' });
  });
});

describe('emailDomain', () => {
  it('is the part after the only "@" of a well-formed address', () => {
    expect(emailDomain('a@Corp.COM')).toBe('corp.com');
    expect(emailDomain('a@b@corp.com')).toBeUndefined();
    expect(emailDomain('nobody')).toBeUndefined();
  });
});
