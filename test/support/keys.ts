// Real signing keys and a real JWKS server that can rotate its keys and go down.
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
