// Client certificates as an identity (the "mtls" method), through a real sidecar with
// certificates made for each case: a verified certificate is the identity (CN or SPIFFE ID),
// an unverified one (expired, another CA) never is, and a route that accepts other methods
// still takes them; a user name the app could not receive exactly gives no identity;
// requireClientCert fails the handshake; client-sent certificate headers never reach the app;
// and forward-auth, which cannot see the checked client's certificate, never matches mtls.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  createCa,
  EXPIRED,
  type Issued,
  issue,
  issueServer,
} from '../support/certificates.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import { startTestSidecar, type TestSidecar, tempDir } from '../support/sidecar.ts';
import { type ClientTls, requestTls, type TlsAnswer, tlsRefusal } from '../support/tls-client.ts';
import { eventually } from '../support/wait.ts';

let upstream: EchoUpstream;
let serverCa: CertificateAuthority;
let server: Issued;
let clientCa: CertificateAuthority;
const clients: Record<string, Issued> = {};

const SPIFFE_ID = 'spiffe://example.org/ns/prod/sa/billing';

beforeAll(async () => {
  upstream = await startEchoUpstream();
  serverCa = createCa('Server CA');
  server = issueServer(serverCa);
  clientCa = createCa('Client CA');
  const otherCa = createCa('Other CA');
  clients.alice = issue(clientCa, 'alice', { cn: 'alice', san: ['email:alice@example.com'] });
  clients.bob = issue(clientCa, 'bob', { cn: 'bob' });
  clients.workload = issue(clientCa, 'workload', { cn: 'billing', san: [`URI:${SPIFFE_ID}`, 'DNS:billing.prod'] });
  clients.expired = issue(clientCa, 'expired', { cn: 'alice', ...EXPIRED });
  clients.foreign = issue(otherCa, 'foreign', { cn: 'alice', san: ['email:alice@example.com'] });
  clients.control = issue(clientCa, 'control', { cn: 'ali\u0001ce' });
  clients.spaced = issue(clientCa, 'spaced', { cn: 'alice ' });
  clients.nameless = issue(clientCa, 'nameless', { san: [`URI:${SPIFFE_ID}`] });
});
afterAll(() => upstream?.close());

function sidecarDir(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'tls'));
  copyFileSync(server.certFile, join(dir, 'tls/tls.crt'));
  copyFileSync(server.keyFile, join(dir, 'tls/tls.key'));
  copyFileSync(clientCa.certFile, join(dir, 'tls/ca.crt'));
  htpasswd(join(dir, 'htpasswd'), [{ user: 'carol', password: 'carol-pw' }]);
  return dir;
}

const TLS = { certFile: 'tls/tls.crt', keyFile: 'tls/tls.key', clientCaFile: 'tls/ca.crt' };

/** The client's TLS settings: trusts the server's CA, presents `name`'s certificate if given. */
function as(name?: string): ClientTls {
  const client = name === undefined ? undefined : clients[name];
  return { ca: serverCa.cert, ...(client ? { cert: client.cert, key: client.key } : {}) };
}

interface Seen {
  readonly status: number;
  readonly user: string | undefined;
  readonly email: string | undefined;
  readonly error: string | undefined;
  readonly message: string | undefined;
  readonly challenge: string | null;
}

/** What the app (or, for a refusal, the client) learned. */
function seen(answer: TlsAnswer): Seen {
  const body = JSON.parse(answer.body) as {
    headers?: Record<string, string[]>;
    error?: string;
    message?: string;
  };
  return {
    status: answer.status,
    user: body.headers?.['x-forwarded-user']?.join(','),
    email: body.headers?.['x-forwarded-email']?.join(','),
    error: body.error,
    message: body.message,
    challenge: answer.headers.get('www-authenticate'),
  };
}

const get = async (sidecar: TestSidecar, path: string, tls: ClientTls, headers: Record<string, string> = {}) =>
  seen(await requestTls(`${sidecar.url}${path}`, tls, { headers: { accept: 'application/json', ...headers } }));

describe('client certificates, asked for but not required', () => {
  let sidecar: TestSidecar;

  beforeAll(async () => {
    sidecar = await startTestSidecar(
      {
        upstream: { url: upstream.url },
        basic: { htpasswdFile: 'htpasswd' },
        tls: TLS,
        trustedProxies: ['127.0.0.1'],
        routes: [
          { path: '/service/**', auth: ['mtls'] },
          { path: '/mixed/**', auth: ['mtls', 'basic'] },
          { path: '/mail/**', allow: { emails: ['alice@example.com'] } },
        ],
      },
      { dir: sidecarDir() },
    );
  });
  afterAll(() => sidecar?.stop());

  it('takes a verified certificate as the identity: user from the CN, email from the SAN', async () => {
    expect(await get(sidecar, '/service/x', as('alice'))).toMatchObject({
      status: 200,
      user: 'alice',
      email: 'alice@example.com',
    });
    const line = sidecar.logs.findLast((l) => l.path === '/service/x');
    expect(line).toMatchObject({ status: 200, user: 'alice', authMethod: 'mtls', route: '/service/**' });
    const info = await requestTls(`${sidecar.url}/oauth2/userinfo`, as('alice'));
    expect(JSON.parse(info.body)).toEqual({
      user: 'alice',
      email: 'alice@example.com',
      groups: [],
      authMethod: 'mtls',
    });
  });

  it('accepts it on a route without auth, and applies allow rules to it', async () => {
    expect(await get(sidecar, '/anything', as('bob'))).toMatchObject({ status: 200, user: 'bob', email: undefined });
    expect(await get(sidecar, '/mail/inbox', as('alice'))).toMatchObject({ status: 200, user: 'alice' });
    expect(await get(sidecar, '/mail/inbox', as('bob'))).toMatchObject({ status: 403, error: 'forbidden' });
  });

  it('answers 401 on an mtls-only route without a certificate, and other methods do not help there', async () => {
    const none = await get(sidecar, '/service/x', as());
    expect(none).toMatchObject({ status: 401, error: 'unauthenticated', challenge: null });
    const basic = await get(sidecar, '/service/x', as(), { authorization: basicAuth('carol', 'carol-pw') });
    expect(basic).toMatchObject({ status: 401, error: 'unauthenticated' });
  });

  it('never takes an unverified certificate: expired, or from a CA it does not trust', async () => {
    expect(await get(sidecar, '/service/x', as('expired'))).toMatchObject({
      status: 401,
      error: 'invalid_client_certificate',
      message: 'the client certificate is not verified: it has expired',
    });
    expect(await get(sidecar, '/service/x', as('foreign'))).toMatchObject({
      status: 401,
      error: 'invalid_client_certificate',
      message: 'the client certificate is not verified: no trusted CA issued it',
    });
    const line = sidecar.logs.findLast((l) => l.path === '/service/x');
    expect(line).toMatchObject({ status: 401, user: null, authMethod: null });
  });

  it('lets an unverified certificate use the other methods a route accepts', async () => {
    const basic = { authorization: basicAuth('carol', 'carol-pw') };
    expect(await get(sidecar, '/mixed/x', as('foreign'), basic)).toMatchObject({ status: 200, user: 'carol' });
    expect(await get(sidecar, '/mixed/x', as('foreign'))).toMatchObject({
      status: 401,
      error: 'invalid_client_certificate',
      challenge: 'Basic realm="auth-sidecar"',
    });
    // A refused basic credential is still refused as such, whatever the certificate.
    const wrong = { authorization: basicAuth('carol', 'wrong') };
    expect(await get(sidecar, '/mixed/x', as('expired'), wrong)).toMatchObject({
      status: 401,
      error: 'invalid_credentials',
    });
  });

  it('gives no identity for a user the app could not receive exactly', async () => {
    const before = upstream.received.length;
    expect(await get(sidecar, '/service/x', as('control'))).toMatchObject({
      status: 401,
      error: 'invalid_client_certificate',
      message: 'the client certificate has a subject.CN with a control character',
    });
    expect(await get(sidecar, '/service/x', as('spaced'))).toMatchObject({
      status: 401,
      message: 'the client certificate has a subject.CN with leading or trailing whitespace',
    });
    expect(await get(sidecar, '/service/x', as('nameless'))).toMatchObject({
      status: 401,
      message: 'the client certificate has no subject.CN',
    });
    expect(upstream.received.length).toBe(before);
  });

  it('never sends the app a client-certificate header, whoever sent it', async () => {
    const forged = {
      'x-forwarded-client-cert': `By=spiffe://evil;URI=${SPIFFE_ID}`,
      'X-Client-Cert': 'forged',
      'ssl-client-cert': 'forged',
      'x-ssl-client-verify': 'SUCCESS',
    };
    const answer = await requestTls(`${sidecar.url}/service/x`, as('alice'), { headers: forged });
    expect(answer.status).toBe(200);
    const received = JSON.parse(answer.body) as { headers: Record<string, string[]> };
    expect(Object.keys(received.headers).filter((name) => /cert|verify/.test(name))).toEqual([]);
    expect(received.headers['x-forwarded-user']).toEqual(['alice']);
  });

  it('never matches mtls in a forward-auth check: the certificate there is the asking proxy’s', async () => {
    const check = (uri: string) =>
      requestTls(`${sidecar.url}/oauth2/auth`, as('alice'), { headers: { 'x-forwarded-uri': uri } });
    const serviceCheck = await check('/service/x');
    expect(serviceCheck.status).toBe(401);
    expect(serviceCheck.headers.get('x-auth-request-user')).toBeNull();
    expect((await check('/anything')).status).toBe(401);
    const withBasic = await requestTls(`${sidecar.url}/oauth2/auth`, as('alice'), {
      headers: { 'x-forwarded-uri': '/mixed/x', authorization: basicAuth('carol', 'carol-pw') },
    });
    expect([withBasic.status, withBasic.headers.get('x-auth-request-user')]).toEqual([202, 'carol']);
  });
});

describe('client certificates required, the user named by the SPIFFE ID', () => {
  let sidecar: TestSidecar;

  beforeAll(async () => {
    sidecar = await startTestSidecar(
      {
        upstream: { url: upstream.url },
        logLevel: 'debug',
        tls: { ...TLS, requireClientCert: true },
        mtls: { claims: { user: 'san.uri' } },
        routes: [{ path: '/billing/**', allow: { users: [SPIFFE_ID] } }],
      },
      { dir: sidecarDir() },
    );
  });
  afterAll(() => sidecar?.stop());

  it('takes the URI SAN as the user', async () => {
    expect(await get(sidecar, '/billing/invoices', as('workload'))).toMatchObject({
      status: 200,
      user: SPIFFE_ID,
      email: undefined,
    });
    expect(await get(sidecar, '/billing/invoices', as('nameless'))).toMatchObject({ status: 200, user: SPIFFE_ID });
    expect(await get(sidecar, '/elsewhere', as('alice'))).toMatchObject({
      status: 401,
      message: 'the client certificate has no san.uri',
    });
  });

  it('fails the handshake without a certificate, or with one it cannot verify', async () => {
    const before = upstream.received.length;
    const refusal = (tls: ClientTls) => tlsRefusal(sidecar.url, tls);
    expect(await refusal(as())).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    // No request, so no access line: the debug log says why.
    await eventually(
      async () =>
        sidecar.logs.some(
          (l) => l.msg === 'TLS handshake failed' && l.reason === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
        ),
      'the handshake failure logged',
      { timeoutMs: 5000 },
    );
    // Node ends the connection once the handshake shows the certificate unverified: no answer.
    expect(await refusal(as('foreign'))).not.toBe('answered');
    expect(await refusal(as('expired'))).not.toBe('answered');
    expect(upstream.received.length).toBe(before);
    expect(await refusal(as('workload'))).toBe('answered');
  });

  it('keeps the probes working on the plain HTTP admin listener', async () => {
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200);
  });
});

describe('client CAs replaced under a running sidecar', () => {
  let sidecar: TestSidecar;
  let dir: string;
  let newCa: CertificateAuthority;
  let newClient: Issued;

  beforeAll(async () => {
    newCa = createCa('Replacement Client CA');
    newClient = issue(newCa, 'carol', { cn: 'carol' });
    dir = sidecarDir();
    sidecar = await startTestSidecar(
      { upstream: { url: upstream.url }, tls: TLS, routes: [{ path: '/service/**', auth: ['mtls'] }] },
      { dir, watchIntervalMs: 100 },
    );
  });
  afterAll(() => sidecar?.stop());

  it('retires the connections the old CAs verified, and verifies new ones with the new CAs', async () => {
    // One keep-alive connection, reused by every request below until the sidecar closes it.
    const alice = new Agent({ connect: { ...as('alice') }, connections: 1 });
    const onAlice = async () => {
      const response = await fetch(`${sidecar.url}/service/x`, {
        dispatcher: alice,
        headers: { accept: 'application/json' },
      });
      return {
        ...seen({ status: response.status, headers: response.headers as Headers, body: await response.text() }),
        connection: response.headers.get('connection'),
      };
    };
    try {
      expect(await onAlice()).toMatchObject({ status: 200, user: 'alice', connection: 'keep-alive' });
      const applied = sidecar.logs.filter((l) => l.msg === 'config reloaded').length;
      copyFileSync(newCa.certFile, join(dir, 'tls/ca.crt'));
      await eventually(
        async () => sidecar.logs.filter((l) => l.msg === 'config reloaded').length > applied,
        'the new client CAs applied',
        { timeoutMs: 5000 },
      );
      // The connection alice opened was verified by a CA that no longer vouches for her: the
      // sidecar closed it when idle, or closes it after this answer; either way no identity.
      const after = await onAlice();
      expect(after).toMatchObject({ status: 401, user: undefined });
      expect(after.message).toBe('the client certificate is not verified: no trusted CA issued it');
    } finally {
      await alice.close();
    }
    expect(await get(sidecar, '/service/x', as('alice'))).toMatchObject({ status: 401 });
    const carol = { ca: serverCa.cert, cert: newClient.cert, key: newClient.key };
    expect(await get(sidecar, '/service/x', carol)).toMatchObject({ status: 200, user: 'carol' });
  });
});
