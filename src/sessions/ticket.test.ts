import { describe, expect, it } from 'vitest';
import { TicketSigner } from './ticket.ts';

const OLD = 'the old cookie secret, 32 bytes or more';
const NEW = 'the new cookie secret, 32 bytes or more';

describe('TicketSigner', () => {
  it('issues a small cookie value that reads back as the same id and key', () => {
    const signer = new TicketSigner([NEW]);
    const { ticket, value } = signer.issue();
    expect(value).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    const read = signer.read(value);
    expect(read?.id).toBe(ticket.id);
    expect(read?.key.equals(ticket.key)).toBe(true);
  });

  it('issues a new random id and key every time', () => {
    const signer = new TicketSigner([NEW]);
    const a = signer.issue().ticket;
    const b = signer.issue().ticket;
    expect(a.id).not.toBe(b.id);
    expect(a.key.equals(b.key)).toBe(false);
  });

  it('refuses a value with any part changed', () => {
    const signer = new TicketSigner([NEW]);
    const { value } = signer.issue();
    const parts = value.split('.');
    for (let part = 0; part < 3; part++) {
      const changed = [...parts];
      const text = changed[part] as string;
      changed[part] = (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
      const tampered = changed.join('.');
      expect(tampered).not.toBe(value);
      expect(signer.read(tampered)).toBeNull();
    }
  });

  it('refuses values of the wrong shape', () => {
    const signer = new TicketSigner([NEW]);
    const { value } = signer.issue();
    for (const bad of ['', '..', 'a.b.c', `${value}.x`, value.replaceAll('.', '|'), `${value.slice(0, -1)}=`]) {
      expect(signer.read(bad)).toBeNull();
    }
  });

  it('refuses a non-canonical spelling of the same signature', () => {
    const signer = new TicketSigner([NEW]);
    const { value } = signer.issue();
    // The last base64url character of 32 bytes carries 2 unused bits: flipping them is the
    // same bytes spelled differently.
    const last = value.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1] as string;
    expect(signer.read(value.slice(0, -1) + sibling)).toBeNull();
  });

  it('refuses a ticket signed with another secret', () => {
    const { value } = new TicketSigner([OLD]).issue();
    expect(new TicketSigner([NEW]).read(value)).toBeNull();
  });

  it('rotates: the first secret signs, every secret verifies', () => {
    const { value: old } = new TicketSigner([OLD]).issue();
    const rotated = new TicketSigner([NEW, OLD]);
    expect(rotated.read(old)).not.toBeNull();
    const { value: fresh } = rotated.issue();
    expect(new TicketSigner([NEW]).read(fresh)).not.toBeNull();
    expect(new TicketSigner([OLD]).read(fresh)).toBeNull();
  });
});
