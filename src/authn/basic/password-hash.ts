// The password hashes an htpasswd line may hold, and how each is checked. Accepted: what
// `htpasswd -B`, `-m` and `-s` write (bcrypt $2a$/$2b$/$2y$, Apache MD5 $apr1$, {SHA}). Refused:
// plain text and crypt(3) DES (`-p`, `-d`: DES keeps only 8 characters of a password), and
// kinds this sidecar has no verifier for. Reasons never quote the hash.
// Every comparison of a computed value with a stored one is constant-time: the bcrypt binding
// compares with the Rust bcrypt crate's constant-time equality, the others use timingSafeEqual.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';

// apache-md5 is CommonJS whose typings declare an ES default export that does not exist at run
// time under Node's ESM loader: required directly, typed by hand.
const apacheMd5 = createRequire(import.meta.url)('apache-md5') as (password: string, salt?: string) => string;

export type HashScheme = 'bcrypt' | 'apr1' | 'sha1';

export interface StoredHash {
  readonly scheme: HashScheme;
  readonly value: string;
  /** bcrypt's cost (log2 of its rounds); 0 for the other schemes. */
  readonly cost: number;
}

export type Recognised = { readonly hash: StoredHash } | { readonly refused: string };

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const APR1 = /^\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
const DES = /^[./0-9A-Za-z]{13}$/;
const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const REHASH = 're-hash the password with `htpasswd -B` or `auth-sidecar hash-password`';

/** What kind of hash a stored value is, or why it is refused. */
export function recogniseHash(value: string): Recognised {
  const bcrypt = BCRYPT.exec(value);
  if (bcrypt) {
    const cost = Number(bcrypt[1]);
    if (cost < 4 || cost > 31) return { refused: 'bcrypt cost must be between 04 and 31' };
    return { hash: { scheme: 'bcrypt', value, cost } };
  }
  if (APR1.test(value)) return { hash: { scheme: 'apr1', value, cost: 0 } };
  if (SHA1.test(value)) return { hash: { scheme: 'sha1', value, cost: 0 } };
  if (DES.test(value)) {
    return { refused: `crypt(3) DES hashes are refused (they check only 8 characters); ${REHASH}` };
  }
  if (/^\$(?:1|5|6|y|gy|7|argon2\w*|sha1|md5)\$/.test(value)) {
    return { refused: `this hash kind is not supported (only bcrypt, $apr1$ and {SHA}); ${REHASH}` };
  }
  return { refused: `not a bcrypt, $apr1$ or {SHA} hash (plain-text passwords are refused); ${REHASH}` };
}

/** Whether the password (raw bytes, as sent) matches the stored hash. */
export async function passwordMatches(password: Buffer, stored: StoredHash): Promise<boolean> {
  // An empty password never authenticates, whatever the file holds: a client whose password
  // variable is unset (`curl -u "$USER:$PASSWORD"`) must not log in.
  if (password.length === 0) return false;
  // bcrypt reads only the first 72 bytes, so 72 × "a" would also open an account whose password
  // is 72 × "a" + "Y". A longer password is never the one that was hashed: no match.
  if (stored.scheme === 'bcrypt' && password.length > BCRYPT_MAX_PASSWORD_BYTES) return false;
  return hashMatches(password, stored);
}

/** Whether the stored hash is of the empty password (which passwordMatches never accepts). */
export function isEmptyPasswordHash(stored: StoredHash): Promise<boolean> {
  return hashMatches(Buffer.alloc(0), stored);
}

async function hashMatches(password: Buffer, stored: StoredHash): Promise<boolean> {
  switch (stored.scheme) {
    case 'bcrypt':
      // Runs on libuv's thread pool: the event loop keeps serving while bcrypt works.
      return (await bcrypt()).verify(password, stored.value);
    case 'apr1':
      // apache-md5 takes a string and hashes each char code as one byte: give it the bytes
      // themselves as a latin1 string, so UTF-8 (or any) passwords hash as Apache hashes them.
      return sameText(apacheMd5(password.toString('latin1'), stored.value), stored.value);
    case 'sha1':
      return sameText(`{SHA}${createHash('sha1').update(password).digest('base64')}`, stored.value);
  }
}

/** The native bcrypt binding, loaded with the first bcrypt hash: a config without one never loads it. */
function bcrypt(): Promise<typeof import('@node-rs/bcrypt')> {
  loadingBcrypt ??= import('@node-rs/bcrypt');
  return loadingBcrypt;
}
let loadingBcrypt: Promise<typeof import('@node-rs/bcrypt')> | undefined;

/** What `auth-sidecar hash-password` writes: bcrypt, cost 10, with Apache's $2y$ prefix. */
export const NEW_HASH_COST = 10;
/** bcrypt reads only this many bytes of a password. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

export async function hashNewPassword(password: Buffer): Promise<string> {
  return (await bcrypt()).hash(password, NEW_HASH_COST, randomSalt());
}

/**
 * A hash of the same kind and cost as `like`, of a random password nobody knows: an unknown
 * user is checked against it, so that it costs the same hash work as a wrong password.
 */
export async function decoyHash(like: StoredHash): Promise<StoredHash> {
  const secret = randomBytes(18).toString('base64url');
  switch (like.scheme) {
    case 'bcrypt':
      return { ...like, value: await (await bcrypt()).hash(secret, like.cost, randomSalt()) };
    case 'apr1':
      return {
        ...like,
        value: apacheMd5(secret, `$apr1$${Array.from(randomBytes(8), (b) => CRYPT_ALPHABET[b & 63]).join('')}$`),
      };
    case 'sha1':
      return { ...like, value: `{SHA}${createHash('sha1').update(secret).digest('base64')}` };
  }
}

/**
 * bcrypt's 16 salt bytes, from Node's CSPRNG. Given as bytes on purpose: this binding reads a
 * salt *string* (such as genSalt's output) as raw bytes, so most of it would be the constant
 * "$2y$10$" prefix.
 */
function randomSalt(): Buffer {
  return randomBytes(16);
}

/** Constant-time equality of two ASCII strings (a length difference is not secret here). */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'latin1');
  const y = Buffer.from(b, 'latin1');
  return x.length === y.length && timingSafeEqual(x, y);
}
