// Real signing keys, key files, and a real JWKS server that can rotate its keys and go down.
import { generateKeyPairSync, type KeyPairKeyObjectResult } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createSigningKey(
  alg = 'ES256',
  kid = `key-${alg}-${Math.random().toString(36).slice(2, 8)}`,
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export const ISSUER = 'https://idp.test';
export const AUDIENCE = 'my-api';

/** A token from `key` with sensible defaults (iss, aud, sub, exp in 5 minutes). */
export function signToken(
  key: SigningKey,
  claims: JWTPayload = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

export function jwksOf(...keys: SigningKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}

export interface JwksServer {
  url: string;
  jwksUri: string;
  /** Requests received for the JWKS. */
  hits: number;
  keys: SigningKey[];
  down: boolean;
  close(): Promise<void>;
}

/** Serves /jwks.json and an OpenID discovery document naming it. */
export async function startJwksServer(keys: SigningKey[], issuer?: string): Promise<JwksServer> {
  const state = { hits: 0, keys, down: false };
  let server: Server;
  const handle = (url: string, base: string) => {
    if (url === '/.well-known/openid-configuration') {
      return JSON.stringify({ issuer: issuer ?? base, jwks_uri: `${base}/jwks.json` });
    }
    if (url === '/jwks.json') {
      state.hits++;
      return JSON.stringify(jwksOf(...state.keys));
    }
    return undefined;
  };
  server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (state.down) return void req.socket.destroy();
    const body = handle(req.url ?? '', base);
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    jwksUri: `${url}/jwks.json`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as JwksServer;
}

/** The key types an identity token key file may hold, and some it may not. */
export type PrivateKeyKind = 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'Ed448' | 'RSA-2048' | 'RSA-1024';

const KEY_KINDS: Record<PrivateKeyKind, () => KeyPairKeyObjectResult> = {
  'P-256': () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'P-384': () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  'P-521': () => generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  Ed25519: () => generateKeyPairSync('ed25519'),
  Ed448: () => generateKeyPairSync('ed448'),
  'RSA-2048': () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  'RSA-1024': () => generateKeyPairSync('rsa', { modulusLength: 1024 }),
};

/** Writes a new private key as PKCS#8 PEM (what `openssl genpkey` writes); returns its key pair. */
export function writePrivateKey(file: string, kind: PrivateKeyKind = 'P-256'): KeyPairKeyObjectResult {
  const pair = KEY_KINDS[kind]();
  writeFileSync(file, pkcs8Of(pair));
  return pair;
}

/** A new private key as PKCS#8 PEM text, e.g. for a Secret. */
export function pkcs8Pem(kind: PrivateKeyKind = 'P-256'): string {
  return pkcs8Of(KEY_KINDS[kind]());
}

function pkcs8Of(pair: KeyPairKeyObjectResult): string {
  return String(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
}
