// The one-decision table for client certificates: each request goes through an HTTPS sidecar
// with the certificate a client presents, through `explain` with the same certificate (as
// `--cert` reads it), and through a forward-auth check made on a connection that presents the
// same certificate. The pipeline and explain must agree on the verdict, the refusal code, the
// challenges and the identity; forward-auth never takes the certificate (it is the asking
// proxy's), so its verdict is the one the request's other credentials give.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explain } from '../../src/explain.ts';
import { pemCertificates } from '../../src/tls/listener-tls.ts';
import { presentedCertificate } from '../../src/tls/offline-verify.ts';
import {
  type CertificateAuthority,
  createCa,
  EXPIRED,
  type Issued,
  issue,
  issueServer,
} from '../support/certificates.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, signToken } from '../support/keys.ts';
import { startTestSidecar, type TestSidecar, tempDir } from '../support/sidecar.ts';
import { type ClientTls, requestTls } from '../support/tls-client.ts';

type Verdict = 'allowed' | 'public' | 'unauthenticated' | 'forbidden';

interface Row {
  readonly name: string;
  readonly path: string;
  /** The client certificate the connection presents (a key of `clients`), if any. */
  readonly cert?: string;
  /** A bearer token (a key of `tokens`), if any. */
  readonly token?: string;
  readonly verdict: Verdict;
  /** The refusal's code, when refused. */
  readonly error?: string;
  readonly user?: string;
  /** What forward-auth answers: the verdict without the certificate. */
  readonly check: Verdict;
  readonly checkUser?: string;
}

interface Answer {
  readonly status: number;
  readonly error: string | null;
  readonly challenges: string[];
  readonly user: string | null;
}

let upstream: EchoUpstream;
let sidecar: TestSidecar;
let serverCa: CertificateAuthority;
const clients: Record<string, Issued> = {};
const tokens: Record<string, string> = {};

beforeAll(async () => {
  upstream = await startEchoUpstream();
  serverCa = createCa('Decision Server CA');
  const clientCa = createCa('Decision Client CA');
  clients.alice = issue(clientCa, 'alice', { cn: 'alice', san: ['email:alice@example.com'] });
  clients.bob = issue(clientCa, 'bob', { cn: 'bob' });
  clients.expired = issue(clientCa, 'expired', { cn: 'alice', ...EXPIRED });
  clients.foreign = issue(createCa('Decision Other CA'), 'foreign', { cn: 'alice' });
  const server = issueServer(serverCa);
  const dir = tempDir('tls-decision-');
  mkdirSync(join(dir, 'tls'));
  copyFileSync(server.certFile, join(dir, 'tls/tls.crt'));
  copyFileSync(server.keyFile, join(dir, 'tls/tls.key'));
  copyFileSync(clientCa.certFile, join(dir, 'tls/ca.crt'));
  const key = await createSigningKey('ES256');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
  tokens.carol = await signToken(key, { sub: 'carol' });
  tokens.tampered = `${tokens.carol.slice(0, -4)}AAAA`;
  sidecar = await startTestSidecar(
    {
      upstream: { url: upstream.url },
      trustedProxies: ['127.0.0.1'],
      jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: 'jwks.json' },
      tls: { certFile: 'tls/tls.crt', keyFile: 'tls/tls.key', clientCaFile: 'tls/ca.crt' },
      routes: [
        { path: '/service/**', auth: ['mtls'] },
        { path: '/mixed/**', auth: ['jwt', 'mtls'] },
        { path: '/mail/**', allow: { emails: ['alice@example.com'] } },
        { path: '/public/**', auth: 'none' },
      ],
    },
    { dir },
  );
}, 60_000);
afterAll(async () => {
  await sidecar?.stop();
  await upstream?.close();
});

const ROWS: Row[] = [
  {
    name: 'verified, mtls route',
    path: '/service/x',
    cert: 'alice',
    verdict: 'allowed',
    user: 'alice',
    check: 'unauthenticated',
  },
  { name: 'no certificate, mtls route', path: '/service/x', verdict: 'unauthenticated', check: 'unauthenticated' },
  {
    name: 'expired, mtls route',
    path: '/service/x',
    cert: 'expired',
    verdict: 'unauthenticated',
    error: 'invalid_client_certificate',
    check: 'unauthenticated',
  },
  {
    name: 'another CA, mtls route',
    path: '/service/x',
    cert: 'foreign',
    verdict: 'unauthenticated',
    error: 'invalid_client_certificate',
    check: 'unauthenticated',
  },
  {
    name: 'verified, default rule',
    path: '/x',
    cert: 'bob',
    verdict: 'allowed',
    user: 'bob',
    check: 'unauthenticated',
  },
  {
    name: 'verified and a token: the certificate is tried first',
    path: '/mixed/x',
    cert: 'alice',
    token: 'carol',
    verdict: 'allowed',
    user: 'alice',
    check: 'allowed',
    checkUser: 'carol',
  },
  {
    name: 'another CA and a token: the token',
    path: '/mixed/x',
    cert: 'foreign',
    token: 'carol',
    verdict: 'allowed',
    user: 'carol',
    check: 'allowed',
    checkUser: 'carol',
  },
  {
    name: 'another CA, nothing else',
    path: '/mixed/x',
    cert: 'foreign',
    verdict: 'unauthenticated',
    error: 'invalid_client_certificate',
    check: 'unauthenticated',
  },
  {
    name: 'expired and a tampered token: the token’s refusal',
    path: '/mixed/x',
    cert: 'expired',
    token: 'tampered',
    verdict: 'unauthenticated',
    error: 'invalid_token',
    check: 'unauthenticated',
  },
  {
    name: 'verified, an email rule it meets',
    path: '/mail/x',
    cert: 'alice',
    verdict: 'allowed',
    user: 'alice',
    check: 'unauthenticated',
  },
  {
    name: 'verified, an email rule it does not meet',
    path: '/mail/x',
    cert: 'bob',
    verdict: 'forbidden',
    error: 'forbidden',
    check: 'unauthenticated',
  },
  { name: 'another CA, public route', path: '/public/x', cert: 'foreign', verdict: 'public', check: 'public' },
];

const STATUS: Record<Verdict, { proxied: number; check: number }> = {
  allowed: { proxied: 200, check: 202 },
  public: { proxied: 200, check: 202 },
  unauthenticated: { proxied: 401, check: 401 },
  forbidden: { proxied: 403, check: 403 },
};

function tlsOf(row: Row): ClientTls {
  const client = row.cert === undefined ? undefined : clients[row.cert];
  return { ca: serverCa.cert, ...(client ? { cert: client.cert, key: client.key } : {}) };
}

function headersOf(row: Row): Record<string, string> {
  const token = row.token === undefined ? undefined : tokens[row.token];
  return { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

function challengesOf(headers: Headers): string[] {
  const value = headers.get('www-authenticate');
  return value === null ? [] : value.split(/, (?=(?:Bearer|Basic|Cookie) )/);
}

async function proxied(row: Row): Promise<Answer> {
  const answer = await requestTls(`${sidecar.url}${row.path}`, tlsOf(row), { headers: headersOf(row) });
  const body = JSON.parse(answer.body) as { error?: string; headers?: Record<string, string[]> };
  return {
    status: answer.status,
    error: body.error ?? null,
    challenges: challengesOf(answer.headers),
    user: body.headers?.['x-forwarded-user']?.join(',') ?? null,
  };
}

async function forwardAuth(row: Row): Promise<Answer> {
  const answer = await requestTls(`${sidecar.url}/oauth2/auth`, tlsOf(row), {
    headers: { ...headersOf(row), 'x-forwarded-uri': row.path, 'x-forwarded-method': 'GET' },
  });
  return {
    status: answer.status,
    error: answer.status >= 400 ? ((JSON.parse(answer.body) as { error: string }).error ?? null) : null,
    challenges: challengesOf(answer.headers),
    user: answer.headers.get('x-auth-request-user'),
  };
}

async function explained(row: Row): Promise<Answer> {
  const runtime = sidecar.current();
  const client = row.cert === undefined ? undefined : clients[row.cert];
  const chain = client ? pemCertificates(client.cert) : undefined;
  if (typeof chain === 'string' || !runtime.tls) throw new Error('the test certificate does not parse');
  const result = await explain(runtime, {
    method: 'GET',
    target: row.path,
    headers: headersOf(row),
    clientCertificate: chain && presentedCertificate(chain, runtime.tls),
  });
  const challenge = result.headers['WWW-Authenticate'];
  return {
    status: result.status ?? 0,
    error: /^refused \(([a-z_]+)\)/.exec(result.decision)?.[1] ?? null,
    challenges: challenge === undefined ? [] : [challenge].flat(),
    user: result.status === 200 && result.identity ? result.identity.user : null,
  };
}

describe('the pipeline and explain give one decision on client certificates; forward-auth never takes them', () => {
  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const [viaProxy, viaExplain, viaCheck] = [await proxied(row), await explained(row), await forwardAuth(row)];
    expect(viaProxy.status, 'proxied').toBe(STATUS[row.verdict].proxied);
    expect(viaExplain.status, 'explain').toBe(STATUS[row.verdict].proxied);
    expect(viaCheck.status, 'forward-auth').toBe(STATUS[row.check].check);
    expect(viaProxy.error, 'proxied code').toBe(
      row.error ?? (row.verdict === 'unauthenticated' ? 'unauthenticated' : null),
    );
    expect(viaExplain.error, 'explain code').toBe(viaProxy.error);
    expect(viaExplain.challenges, 'explain challenges').toEqual(viaProxy.challenges);
    expect(viaProxy.user, 'the app').toBe(row.user ?? null);
    expect(viaExplain.user, 'explain').toBe(row.user ?? null);
    expect(viaCheck.user, 'forward-auth').toBe(row.checkUser ?? null);
  });
});
