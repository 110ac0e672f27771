// The identity token's keys: PKCS#8 PEM private keys read from identityToken.signingKeyFile,
// each with the one algorithm its type allows, and the public half as a JWK for the JWKS
// endpoint. Everything that can be wrong with a file is found here, when the config is built,
// and reported as a config error that names the key and the file (never the key's bytes).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { describeFsError } from '../config/load.ts';
import type { IdentityTokenConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';

export type SigningAlgorithm = 'ES256' | 'ES384' | 'EdDSA' | 'RS256';

export interface SigningKey {
  readonly file: string;
  readonly alg: SigningAlgorithm;
  readonly privateKey: KeyObject;
  /** The public key (kty and its parameters only); kid, alg and use are added when published. */
  readonly publicJwk: JWK;
}

const MIN_RSA_BITS = 2048;
const PKCS8_LABEL = '-----BEGIN PRIVATE KEY-----';
const KEY_TYPES = 'use EC P-256 or P-384, Ed25519, or RSA of 2048 bits or more';

/** The keys in the order configured (the first signs). Throws ConfigError listing every bad file. */
export function readSigningKeys(config: IdentityTokenConfig): SigningKey[] {
  const files = typeof config.signingKeyFile === 'string' ? [config.signingKeyFile] : config.signingKeyFile;
  const keyPath = (index: number) =>
    typeof config.signingKeyFile === 'string'
      ? 'identityToken.signingKeyFile'
      : `identityToken.signingKeyFile.${index}`;
  const problems: string[] = [];
  const keys: SigningKey[] = [];
  files.forEach((file, index) => {
    const read = readSigningKey(file);
    if (typeof read === 'string') problems.push(`config: ${keyPath(index)}: "${file}" ${read}`);
    else keys.push(read);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return keys;
}

/** The key in `file`, or what is wrong with it (a phrase that follows the file name). */
function readSigningKey(file: string): SigningKey | string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    return `cannot be read: ${describeFsError(error)}`;
  }
  const notPkcs8 = labelProblem(pem);
  if (notPkcs8 !== undefined) return notPkcs8;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return 'is not a readable PKCS#8 private key';
  }
  const alg = algorithmOf(privateKey);
  if (typeof alg !== 'string') return alg.problem;
  const { kty, crv, x, y, n, e } = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicJwk: JWK = kty === 'RSA' ? { kty, n, e } : kty === 'EC' ? { kty, crv, x, y } : { kty, crv, x };
  return { file, alg, privateKey, publicJwk };
}

/** PEM labels say what a file holds before anything is parsed. */
function labelProblem(pem: string): string | undefined {
  if (pem.includes(PKCS8_LABEL)) return undefined;
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    return 'is encrypted: give the key unencrypted (openssl pkcs8 -topk8 -nocrypt)';
  }
  if (/-----BEGIN (?:EC|RSA) PRIVATE KEY-----/.test(pem)) {
    return 'is not PKCS#8 ("BEGIN PRIVATE KEY"): convert it with openssl pkcs8 -topk8 -nocrypt';
  }
  if (/-----BEGIN (?:PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE)-----/.test(pem)) {
    return 'holds no private key (a public key or certificate): give the PKCS#8 private key';
  }
  return 'is not a PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----")';
}

/** The one algorithm a key signs with, or why the key cannot be used. */
function algorithmOf(key: KeyObject): SigningAlgorithm | { problem: string } {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve === 'prime256v1') return 'ES256';
      if (details.namedCurve === 'secp384r1') return 'ES384';
      return { problem: `is an EC key on curve ${details.namedCurve ?? 'unknown'}: ${KEY_TYPES}` };
    case 'ed25519':
      return 'EdDSA';
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      return bits >= MIN_RSA_BITS ? 'RS256' : { problem: `is a ${bits}-bit RSA key: ${KEY_TYPES}` };
    }
    default:
      return { problem: `is a key of type ${key.asymmetricKeyType ?? 'secret'}: ${KEY_TYPES}` };
  }
}
