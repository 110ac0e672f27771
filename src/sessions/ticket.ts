// The session cookie is a ticket, not the session: "<id>.<key>.<mac>", where id names the
// session in the store, key (per session, random) unseals what the store holds there, and mac
// is an HMAC-SHA256 over both with a key derived (HKDF) from session.cookie.secret. The first
// secret signs; every secret in the list verifies, so secrets can be rotated. A Redis dump
// therefore reveals no token, and a cookie cannot be forged or altered without the secret.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { SEAL_KEY_BYTES } from './seal.ts';

export interface Ticket {
  /** Names the session in the store (base64url of 16 random bytes). */
  readonly id: string;
  /** Unseals the session (32 random bytes); only the browser holds it. */
  readonly key: Buffer;
}

const ID_BYTES = 16;
const PART = /^[A-Za-z0-9_-]+$/;
const ID_LENGTH = Math.ceil((ID_BYTES * 4) / 3);
const KEY_LENGTH = Math.ceil((SEAL_KEY_BYTES * 4) / 3);
const MAC_LENGTH = 43;

export class TicketSigner {
  private readonly macKeys: readonly Buffer[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new TypeError('a ticket signer needs at least one secret');
    this.macKeys = secrets.map((secret) =>
      Buffer.from(hkdfSync('sha256', secret, 'auth-sidecar', 'session ticket signature', 32)),
    );
  }

  /** A new session's ticket and its cookie value. */
  issue(): { ticket: Ticket; value: string } {
    const ticket = { id: randomBytes(ID_BYTES).toString('base64url'), key: randomBytes(SEAL_KEY_BYTES) };
    return { ticket, value: this.sign(ticket) };
  }

  sign(ticket: Ticket): string {
    const body = `${ticket.id}.${ticket.key.toString('base64url')}`;
    return `${body}.${mac(this.macKeys[0] as Buffer, body).toString('base64url')}`;
  }

  /** The ticket in a cookie value, or null when it is malformed or its signature does not hold. */
  read(value: string): Ticket | null {
    const parts = value.split('.');
    if (parts.length !== 3) return null;
    const [id, key, signature] = parts as [string, string, string];
    if (id.length !== ID_LENGTH || key.length !== KEY_LENGTH || signature.length !== MAC_LENGTH) return null;
    if (!PART.test(id) || !PART.test(key) || !PART.test(signature)) return null;
    const given = Buffer.from(signature, 'base64url');
    const body = `${id}.${key}`;
    // Every secret is tried, whichever matches, so the time taken says nothing about which.
    let valid = false;
    for (const macKey of this.macKeys) valid = timingSafeEqual(mac(macKey, body), given) || valid;
    if (!valid) return null;
    const keyBytes = Buffer.from(key, 'base64url');
    // Base64url has several spellings of the same bytes; accept only the canonical one.
    if (keyBytes.toString('base64url') !== key || given.toString('base64url') !== signature) return null;
    return { id, key: keyBytes };
  }
}

function mac(key: Buffer, body: string): Buffer {
  return createHmac('sha256', key).update(body).digest();
}
