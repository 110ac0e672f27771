// A real sidecar with JWT (local JWKS file) in front of the echo upstream, for route tests.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, type SigningKey, signToken } from '../support/keys.ts';
import { startTestSidecar, type TestSidecar, tempDir } from '../support/sidecar.ts';

export interface RouteFixture {
  sidecar: TestSidecar;
  upstream: EchoUpstream;
  key: SigningKey;
  /** A bearer token for `sub` with these claims. */
  token(claims?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startRouteFixture(config: Record<string, unknown>): Promise<RouteFixture> {
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
    token: (claims = {}) => signToken(key, claims),
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
