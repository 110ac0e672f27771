// The JWT setup most tests share: a real sidecar verifying bearer tokens against a local JWKS
// file of a fresh ES256 key, in front of the echo upstream; `token()` signs for that key.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EchoUpstream, startEchoUpstream } from './echo-upstream.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, type SigningKey, signToken } from './keys.ts';
import { startTestSidecar, type TestSidecar, tempDir } from './sidecar.ts';

export interface JwtStack {
  sidecar: TestSidecar;
  upstream: EchoUpstream;
  key: SigningKey;
  /** A bearer token for `sub` with these claims (and protected header fields). */
  token(claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startJwtStack(config: Record<string, unknown>): Promise<JwtStack> {
  const upstream = await startEchoUpstream();
  const key = await createSigningKey('ES256');
  const dir = tempDir();
  const keysFile = join(dir, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(jwksOf(key)));
  // upstream settings other than the url (which is the echo's) may be given.
  const { upstream: upstreamSettings, ...rest } = config;
  const sidecar = await startTestSidecar(
    {
      upstream: { ...(upstreamSettings as object | undefined), url: upstream.url },
      jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile },
      ...rest,
    },
    { dir },
  );
  return {
    sidecar,
    upstream,
    key,
    token: (claims = {}, header = {}) => signToken(key, claims, header),
    close: async () => {
      await sidecar.stop();
      await upstream.close();
    },
  };
}

/** The access log line of a request, found by its request id. */
export function accessLine(sidecar: TestSidecar, requestId: string): Record<string, unknown> | undefined {
  return sidecar.logs.find((line) => line.msg === 'request' && line.reqId === requestId);
}
