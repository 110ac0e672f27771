import { describe, expect, it } from 'vitest';
import type { Identity } from '../authn/identity.ts';
import { AddressList } from '../net/address.ts';
import { admitsAddress, emailDomain, evaluate } from './policy.ts';

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

describe('allow.claims', () => {
  const claims = (values: Record<string, unknown>) => identity({ claims: values });
  const allow = { claims: { department: ['eng', 'ops'], 'realm_access.roles': ['operator'] } };
  const roles = { realm_access: { roles: ['viewer', 'operator'] } };

  it('needs every listed claim to hold one of its values', () => {
    expect(evaluate(claims({ department: 'ops', ...roles }), allow)).toEqual({
      allow: true,
      reason: 'every listed claim holds',
    });
    expect(evaluate(claims({ department: 'ops' }), allow)).toEqual({
      allow: false,
      rule: 'claims',
      reason: 'claim "realm_access.roles" holds none of the listed values',
    });
    expect(evaluate(claims({ department: 'sales', ...roles }), allow)).toMatchObject({ allow: false, rule: 'claims' });
  });

  it('takes an array claim when one element is listed', () => {
    expect(evaluate(claims({ department: ['sales', 'eng'], ...roles }), allow).allow).toBe(true);
    expect(evaluate(claims({ department: ['sales'], ...roles }), allow).allow).toBe(false);
    expect(evaluate(claims({ department: [], ...roles }), allow).allow).toBe(false);
  });

  it('compares exactly: case, type and whole values', () => {
    expect(evaluate(claims({ department: 'Eng', ...roles }), allow).allow).toBe(false);
    expect(evaluate(claims({ department: 'eng,ops', ...roles }), allow).allow).toBe(false);
    expect(evaluate(claims({ department: ' eng', ...roles }), allow).allow).toBe(false);
    expect(evaluate(claims({ level: 3 }), { claims: { level: [3] } }).allow).toBe(true);
    expect(evaluate(claims({ level: '3' }), { claims: { level: [3] } }).allow).toBe(false);
    expect(evaluate(claims({ level: 3 }), { claims: { level: ['3'] } }).allow).toBe(false);
    expect(evaluate(claims({ admin: true }), { claims: { admin: [true] } }).allow).toBe(true);
    expect(evaluate(claims({ admin: 'true' }), { claims: { admin: [true] } }).allow).toBe(false);
  });

  it('never matches an object, a nested array or a missing claim', () => {
    const team = { claims: { team: ['eng'] } };
    expect(evaluate(claims({ team: { name: 'eng' } }), team).allow).toBe(false);
    expect(evaluate(claims({ team: [['eng']] }), team).allow).toBe(false);
    expect(evaluate(claims({}), team).allow).toBe(false);
    expect(evaluate(claims({ team: null }), team).allow).toBe(false);
  });

  it('joins the other keys, before the scopes', () => {
    const both = { groups: ['admins'], claims: { department: ['eng'] }, scopes: ['read'] };
    const admin = identity({ groups: ['admins'], claims: { department: 'eng' } });
    expect(evaluate(admin, both)).toMatchObject({ allow: false, rule: 'scopes' });
    expect(evaluate({ ...admin, claims: {} }, both)).toMatchObject({ allow: false, rule: 'claims' });
    expect(evaluate({ ...admin, scopes: ['read'] }, both).allow).toBe(true);
  });
});

describe('allow.sourceCidrs', () => {
  const sources = new AddressList(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);

  it('admits an address in one of the networks, in any spelling', () => {
    for (const address of ['10.1.2.3', '::ffff:10.1.2.3', '2001:db8::1', '192.0.2.7']) {
      expect(admitsAddress(sources, address), address).toMatchObject({ allow: true });
    }
  });

  it('refuses any other address, and an unknown one', () => {
    for (const address of ['11.0.0.1', '192.0.2.8', '2001:db9::1', '', 'not-an-ip']) {
      expect(admitsAddress(sources, address), address).toMatchObject({ allow: false, rule: 'sourceCidrs' });
    }
  });

  it('admits everyone on a route without sourceCidrs', () => {
    expect(admitsAddress(undefined, '203.0.113.1').allow).toBe(true);
  });

  it('leaves evaluate to the identity rules', () => {
    expect(evaluate(identity(), { sourceCidrs: ['10.0.0.0/8'] })).toEqual({ allow: true, reason: 'any identity' });
  });
});

describe('emailDomain', () => {
  it('is the part after the only "@" of a well-formed address', () => {
    expect(emailDomain('a@Corp.COM')).toBe('corp.com');
    expect(emailDomain('a@b@corp.com')).toBeUndefined();
    expect(emailDomain('nobody')).toBeUndefined();
  });
});
