// Sealing with AES-256-GCM (node:crypto): what the store holds is encrypted and authenticated
// under a key the store never sees, bound to its context (the key it is stored under), so a
// sealed value cannot be read, changed, or moved to another key without detection.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SEAL_KEY_BYTES = 32;

/** version (1) | iv (12) | tag (16) | ciphertext. A fresh random IV for every seal. */
export function seal(key: Uint8Array, plaintext: Uint8Array, context: string): Uint8Array {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), ciphertext]);
}

/** The plaintext, or null when the value was changed, or sealed with another key or context. */
export function unseal(key: Uint8Array, sealed: Uint8Array, context: string): Uint8Array | null {
  checkKey(key);
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) return null;
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const iv = bytes.subarray(1, 1 + IV_BYTES);
  const tag = bytes.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(bytes.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    return null;
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== SEAL_KEY_BYTES) throw new TypeError(`a seal key has ${SEAL_KEY_BYTES} bytes`);
}
