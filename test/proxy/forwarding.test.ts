// Forwarding through a real sidecar to a real upstream: headers the app receives, streaming,
// failures of the app, WebSocket upgrades, the sidecar's own endpoints.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type EchoUpstream, echoOf, pingOverWebSocket, startEchoUpstream } from '../support/echo-upstream.ts';
import {
  AUDIENCE,
  createSigningKey,
  ISSUER,
  type JwksServer,
  type SigningKey,
  signToken,
  startJwksServer,
} from '../support/keys.ts';
import { openRaw, parseRawResponse, rawRequest, sendRaw } from '../support/raw-http.ts';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.ts';
import { NEVER_FORWARDED, PROXY_ONLY, spellings } from '../support/spoofable-headers.ts';
import { eventually } from '../support/wait.ts';

let upstream: EchoUpstream;
let jwks: JwksServer;
let key: SigningKey;
let sidecar: TestSidecar;
let token: string;

const jwt = () => ({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri });

beforeAll(async () => {
  upstream = await startEchoUpstream();
  key = await createSigningKey('ES256');
  jwks = await startJwksServer([key]);
  token = await signToken(key, { sub: 'alice', email: 'alice@example.com', groups: ['staff'] });
  sidecar = await startTestSidecar({
    upstream: { url: upstream.url, timeoutSeconds: 1 },
    jwt: jwt(),
    routes: [{ path: '/public/**', auth: 'none' }],
  });
});

afterAll(async () => {
  await sidecar?.stop();
  await jwks?.close();
  await upstream?.close();
});

const auth = () => ({ authorization: `Bearer ${token}` });

async function raw(lines: string[], body = ''): Promise<ReturnType<typeof parseRawResponse>> {
  const text = await rawRequest(sidecar.url, `${lines.join('\r\n')}\r\nConnection: close\r\n\r\n${body}`);
  return parseRawResponse(text);
}

describe('identity headers cannot be spoofed', () => {
  it('mixed case, underscore spelling and duplicates are all replaced', async () => {
    const res = await raw([
      'GET /api HTTP/1.1',
      'Host: app.example',
      `Authorization: Bearer ${token}`,
      'X-Forwarded-User: mallory',
      'x-forwarded-user: mallory2',
      'X-FORWARDED-GROUPS: admins',
      'X_Forwarded_User: mallory3',
      'X_FORWARDED_EMAIL: root@example.com',
      'x-forwarded-preferred-username: root',
    ]);
    expect(res.status).toBe(200);
    const echo = JSON.parse(res.body);
    expect(echo.headers['x-forwarded-user']).toEqual(['alice']);
    expect(echo.headers['x-forwarded-email']).toEqual(['alice@example.com']);
    expect(echo.headers['x-forwarded-groups']).toEqual(['staff']);
    expect(echo.headers['x-forwarded-preferred-username']).toBeUndefined();
    expect(Object.keys(echo.headers).filter((h) => h.includes('_'))).toEqual([]);
  });

  it('Connection: close, X-Forwarded-User cannot remove the injected identity', async () => {
    const res = await raw([
      'GET /api HTTP/1.1',
      'Host: x',
      `Authorization: Bearer ${token}`,
      'Connection: close, X-Forwarded-User',
    ]);
    expect(JSON.parse(res.body).headers['x-forwarded-user']).toEqual(['alice']);
  });

  it('a public route forwards no identity, and still strips the client’s', async () => {
    const res = await fetch(`${sidecar.url}/public/page`, {
      headers: { 'x-forwarded-user': 'mallory', 'x-forwarded-groups': 'admins' },
    });
    expect(res.status).toBe(200);
    const echo = await echoOf(res);
    expect(echo.headers['x-forwarded-user']).toBeUndefined();
    expect(echo.headers['x-forwarded-groups']).toBeUndefined();
  });

  it('headers named in Connection and other hop-by-hop headers do not reach the app', async () => {
    const res = await raw([
      'GET /api HTTP/1.1',
      'Host: x',
      `Authorization: Bearer ${token}`,
      'Connection: keep-alive, X-Hop',
      'X-Hop: 1',
      'Keep-Alive: timeout=5',
      'TE: trailers',
      'Proxy-Authorization: Basic Zm9vOmJhcg==',
      'X-Kept: yes',
    ]);
    const headers = JSON.parse(res.body).headers;
    for (const name of ['x-hop', 'keep-alive', 'te', 'proxy-authorization'])
      expect(headers[name], name).toBeUndefined();
    expect(headers['x-kept']).toEqual(['yes']);
  });

  it('hop-by-hop headers of the app’s answer do not reach the client; repeated ones do', async () => {
    const res = await raw(['GET /hop-by-hop HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`]);
    expect(res.headers.get('x-secret-hop')).toBeUndefined();
    expect(res.headers.get('keep-alive')).toBeUndefined();
    expect(res.headers.get('x-kept')).toEqual(['yes']);
    const echo = await raw(['GET /api HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`]);
    expect(echo.headers.get('set-cookie')).toEqual(['a=1; Path=/', 'b=2; Path=/']);
  });
});

describe('headers an app may take as the caller, the method, the path or the scheme (issue 11)', () => {
  let keepingUnderscores: TestSidecar;
  let trusting: TestSidecar;

  beforeAll(async () => {
    const config = {
      upstream: { url: upstream.url, dropUnderscoreHeaders: false },
      jwt: jwt(),
      routes: [{ path: '/public/**', auth: 'none' }],
    };
    [keepingUnderscores, trusting] = await Promise.all([
      startTestSidecar(config),
      startTestSidecar({ ...config, trustedProxies: ['127.0.0.0/8'] }),
    ]);
  });
  afterAll(() => Promise.all([keepingUnderscores?.stop(), trusting?.stop()]));

  async function received(target: TestSidecar, path: string, names: string[], value: string) {
    const lines = [`GET ${path} HTTP/1.1`, 'Host: app.example', `Authorization: Bearer ${token}`];
    for (const name of names) lines.push(`${name}: ${value}`);
    const text = await rawRequest(target.url, `${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`);
    const res = parseRawResponse(text);
    expect(res.status).toBe(200);
    return JSON.parse(res.body).headers as Record<string, string[]>;
  }

  it('GET /public/x with X-Rewrite-URL: /admin/x reaches the app without it', async () => {
    const res = await fetch(`${sidecar.url}/public/x`, { headers: { 'x-rewrite-url': '/admin/x' } });
    expect(res.status).toBe(200);
    expect((await echoOf(res)).headers['x-rewrite-url']).toBeUndefined();
  });

  it('never passes identity, method-override or URL-rewrite headers, not even from a trusted proxy', async () => {
    for (const target of [keepingUnderscores, trusting]) {
      const headers = await received(target, '/public/x', spellings(NEVER_FORWARDED), '/admin/x');
      for (const name of spellings(NEVER_FORWARDED)) expect(headers[name.toLowerCase()], name).toBeUndefined();
    }
  });

  it('passes scheme, address, port and prefix assertions only from a trusted proxy, in "-" spelling only', async () => {
    const fromClient = await received(keepingUnderscores, '/api', spellings(PROXY_ONLY), 'on');
    for (const name of spellings(PROXY_ONLY)) expect(fromClient[name.toLowerCase()], name).toBeUndefined();
    const fromProxy = await received(trusting, '/api', spellings(PROXY_ONLY), 'on');
    for (const name of PROXY_ONLY) {
      expect(fromProxy[name.toLowerCase()], name).toEqual(['on', 'on', 'on']);
      if (name.includes('-')) expect(fromProxy[name.toLowerCase().replaceAll('-', '_')], name).toBeUndefined();
    }
  });
});

describe('forwarding headers', () => {
  it('replaces X-Forwarded-* from an untrusted client with what the sidecar sees', async () => {
    const res = await fetch(`${sidecar.url}/api`, {
      headers: {
        ...auth(),
        'x-forwarded-for': '1.2.3.4',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
      },
    });
    const echo = await echoOf(res);
    expect(echo.headers['x-forwarded-for']).toEqual(['127.0.0.1']);
    expect(echo.headers['x-forwarded-proto']).toEqual(['http']);
    expect(echo.headers['x-forwarded-host']).toEqual([new URL(sidecar.url).host]);
    expect(echo.headers.host).toEqual([new URL(sidecar.url).host]);
  });

  it('appends to X-Forwarded-For and keeps proto and host from a trusted proxy', async () => {
    const trusting = await startTestSidecar({
      upstream: { url: upstream.url },
      jwt: jwt(),
      trustedProxies: ['127.0.0.0/8'],
    });
    try {
      const res = await fetch(`${trusting.url}/api`, {
        headers: {
          ...auth(),
          'x-forwarded-for': '203.0.113.7',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'app.example',
        },
      });
      const echo = await echoOf(res);
      expect(echo.headers['x-forwarded-for']).toEqual(['203.0.113.7, 127.0.0.1']);
      expect(echo.headers['x-forwarded-proto']).toEqual(['https']);
      expect(echo.headers['x-forwarded-host']).toEqual(['app.example']);
      const log = trusting.logs.find((l) => l.msg === 'request');
      expect(log?.client).toBe('203.0.113.7');
    } finally {
      await trusting.stop();
    }
  });

  it('keeps a well-formed X-Request-Id, replaces any other, and echoes it to the client', async () => {
    const kept = await fetch(`${sidecar.url}/api`, { headers: { ...auth(), 'x-request-id': 'abc-123_X.y' } });
    expect(kept.headers.get('x-request-id')).toBe('abc-123_X.y');
    expect((await echoOf(kept)).headers['x-request-id']).toEqual(['abc-123_X.y']);
    for (const bad of ['has space', 'a'.repeat(129), 'semi;colon', '']) {
      const res = await fetch(`${sidecar.url}/api`, { headers: { ...auth(), 'x-request-id': bad } });
      const id = res.headers.get('x-request-id') ?? '';
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect((await echoOf(res)).headers['x-request-id']).toEqual([id]);
    }
  });
});

describe('requests and answers', () => {
  it('forwards method, path, query and body; HEAD and 100-continue work', async () => {
    const post = await fetch(`${sidecar.url}/api/items?b=2&a=1`, { method: 'POST', headers: auth(), body: 'hello' });
    expect(await echoOf(post)).toMatchObject({ method: 'POST', url: '/api/items?b=2&a=1', bodyBytes: 5 });
    const head = await fetch(`${sidecar.url}/api`, { method: 'HEAD', headers: auth() });
    expect(head.status).toBe(200);
    const continued = await raw(
      ['POST /api HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Expect: 100-continue', 'Content-Length: 3'],
      'abc',
    );
    expect(continued.status).toBe(100);
  });

  it('answers TRACE and TRACK with 405 on every path, public routes and the sidecar’s own included', async () => {
    const before = upstream.received.length;
    for (const method of ['TRACE', 'TRACK']) {
      for (const path of ['/public/x', '/api', '/oauth2/auth', '/oauth2/userinfo', '/oauth2/nope', '/static/../x']) {
        const res = await sendRaw(sidecar.url, method, path, { authorization: `Bearer ${token}`, cookie: 'a=1' });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.body, `${method} ${path}`).not.toContain('a=1');
      }
    }
    expect(upstream.received.length).toBe(before);
    expect((await fetch(`${sidecar.url}/public/x`)).status).toBe(200);
  });

  it('Expect: 100-continue on a refused request gets its 401 without a 100 first', async () => {
    const before = upstream.received.length;
    for (const authorization of [[], ['Authorization: Bearer not.a.token']]) {
      const connection = await openRaw(sidecar.url);
      const head = ['POST /api HTTP/1.1', 'Host: x', ...authorization, 'Expect: 100-continue', 'Content-Length: 5'];
      connection.write(`${head.join('\r\n')}\r\n\r\n`);
      const answer = await connection.closed;
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
      expect(answer).not.toContain('100 Continue');
    }
    expect(upstream.received.length).toBe(before);
  });

  it('Expect: 100-continue on an allowed request gets the 100, then the body reaches the app', async () => {
    const connection = await openRaw(sidecar.url);
    const head = ['POST /api HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Expect: 100-continue'];
    connection.write(`${[...head, 'Content-Length: 5', 'Connection: close'].join('\r\n')}\r\n\r\n`);
    expect(await connection.until('\r\n\r\n')).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    connection.write('hello');
    const answer = parseRawResponse((await connection.closed).slice('HTTP/1.1 100 Continue\r\n\r\n'.length));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ method: 'POST', bodyBytes: 5 });
  });

  it('refuses a request with two Authorization headers with 400', async () => {
    const res = await raw([
      'GET /api HTTP/1.1',
      'Host: x',
      `Authorization: Bearer ${token}`,
      `Authorization: Bearer ${token}`,
    ]);
    expect(res.status).toBe(400);
  });

  it('refuses a request with two Host headers with 400, not a 502 from the app’s refusal', async () => {
    const res = await raw(['GET /api HTTP/1.1', 'Host: x', 'Host: y', `Authorization: Bearer ${token}`]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'duplicate_host' });
  });

  it('refuses an ambiguous path with 400 before authentication', async () => {
    const res = await raw(['GET /public/..%2fadmin HTTP/1.1', 'Host: x']);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_path' });
  });

  it('answers malformed HTTP with a 4xx and keeps serving', async () => {
    const garbage = parseRawResponse(await rawRequest(sidecar.url, 'GARBAGE\r\n\r\n'));
    expect(garbage.status).toBe(400);
    const badHeader = parseRawResponse(
      await rawRequest(sidecar.url, 'GET / HTTP/1.1\r\nHost: x\r\nX-Bad Name: 1\r\n\r\n'),
    );
    expect(badHeader.status).toBe(400);
    const smuggle = parseRawResponse(
      await rawRequest(
        sidecar.url,
        'POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
    );
    expect(smuggle.status).toBe(400);
    const tunnel = parseRawResponse(
      await rawRequest(sidecar.url, `CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n`),
    );
    expect(tunnel.status).toBe(405);
    expect((await fetch(`${sidecar.url}/api`, { headers: auth() })).status).toBe(200);
  });

  it('reads an absolute-form request target by its path only', async () => {
    const res = await raw([
      'GET http://evil.example/api/abs?q=1 HTTP/1.1',
      'Host: x',
      `Authorization: Bearer ${token}`,
    ]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).url).toBe('/api/abs?q=1');
  });

  it('answers a client that half-closes its side after sending the request', async () => {
    // `nc -N`, Go's CloseWrite and some health checkers send FIN once the request is out.
    const { hostname, port } = new URL(sidecar.url);
    const answer = await new Promise<string>((resolve, reject) => {
      let data = '';
      const socket = connect(Number(port), hostname, () =>
        socket.end(`GET /slow-headers?ms=200 HTTP/1.1\r\nHost: app.example\r\nAuthorization: Bearer ${token}\r\n\r\n`),
      );
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(parseRawResponse(answer).status).toBe(200);
  });

  it('answers 502 when the app refuses the connection, without internals', async () => {
    const down = await startTestSidecar({ upstream: { url: 'http://127.0.0.1:9' }, jwt: jwt() });
    try {
      const res = await fetch(`${down.url}/api`, { headers: auth() });
      expect(res.status).toBe(502);
      const body = await res.text();
      expect(body).toContain('upstream_unavailable');
      expect(body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:9|undici|at /);
    } finally {
      await down.stop();
    }
  });

  it('answers 502 when the app resets the connection', async () => {
    const res = await fetch(`${sidecar.url}/reset`, { headers: auth() });
    expect(res.status).toBe(502);
  });

  it('answers 504 when the app sends no headers within timeoutSeconds', async () => {
    const started = Date.now();
    const res = await fetch(`${sidecar.url}/slow-headers?ms=3000`, { headers: auth() });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: 'upstream_timeout' });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('answers 504 when the app never accepts the connection within timeoutSeconds', async () => {
    const hole = await unacceptingPort();
    const stuck = await startTestSidecar({ upstream: { url: hole.url, timeoutSeconds: 1 }, jwt: jwt() });
    try {
      const res = await fetch(`${stuck.url}/api`, { headers: auth() });
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ error: 'upstream_timeout' });
    } finally {
      await stuck.stop();
      hole.close();
    }
  });

  it('cuts the connection when the app’s body stalls past the timeout', async () => {
    const res = await fetch(`${sidecar.url}/slow-body`, { headers: auth() });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });
});

describe('WebSocket', () => {
  const wsUrl = () => sidecar.url.replace('http', 'ws');

  it('proxies an upgrade with a valid token, with identity headers, and echoes messages', async () => {
    const reply = await pingOverWebSocket(`${wsUrl()}/ws?room=1`, { ...auth(), 'x-forwarded-user': 'mallory' });
    expect(reply).toBe('ping');
    const seen = upstream.received.findLast((r) => r.url === '/ws?room=1');
    expect(seen?.headers['x-forwarded-user']).toEqual(['alice']);
    expect(seen?.headers.upgrade).toEqual(['websocket']);
  });

  it('answers 504 when the app does not answer the upgrade within timeoutSeconds', async () => {
    const hole = await unacceptingPort();
    const stuck = await startTestSidecar({ upstream: { url: hole.url, timeoutSeconds: 1 }, jwt: jwt() });
    try {
      const text = await rawRequest(
        stuck.url,
        [
          'GET /ws?stuck HTTP/1.1',
          'Host: x',
          `Authorization: Bearer ${token}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
      expect(parseRawResponse(text).status).toBe(504);
      // The app never answered: the access line has the client's status, and no upstream one.
      const line = stuck.logs.find((l) => l.msg === 'request' && l.path === '/ws');
      expect(line).toMatchObject({ status: 504, upstreamStatus: null });
    } finally {
      await stuck.stop();
      hole.close();
    }
  });

  it('refuses an upgrade without a token with a complete 401 and its challenge, then closes', async () => {
    const res = await raw([
      'GET /ws HTTP/1.1',
      'Host: x',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
    ]);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toEqual(['Bearer realm="auth-sidecar"']);
    expect(res.headers.get('connection')).toEqual(['close']);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'unauthenticated' });
  });

  it('refuses an upgrade with a bad token the same way', async () => {
    const socket = new WebSocket(`${wsUrl()}/ws`, { headers: { authorization: 'Bearer not.a.token' } });
    const status = await new Promise<number>((resolve) =>
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
  });
});

describe('the sidecar’s own endpoints', () => {
  it('never proxies the path prefix: an unknown endpoint is a 404 from the sidecar', async () => {
    const before = upstream.received.length;
    const res = await fetch(`${sidecar.url}/oauth2/nothing`, { headers: auth() });
    expect(res.status).toBe(404);
    expect(upstream.received.length).toBe(before);
  });

  it('answers userinfo with the caller’s identity, or 401', async () => {
    const res = await fetch(`${sidecar.url}/oauth2/userinfo`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      user: 'alice',
      email: 'alice@example.com',
      groups: ['staff'],
      authMethod: 'jwt',
    });
    const anonymous = await fetch(`${sidecar.url}/oauth2/userinfo`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="auth-sidecar"');
  });
});

describe('access log', () => {
  it('writes one line per request with the contract’s fields and no credentials', async () => {
    await fetch(`${sidecar.url}/api/logged?secret=query`, {
      headers: { ...auth(), 'x-request-id': 'log-check-1', cookie: 'session=abc' },
    });
    const lines = sidecar.logs.filter((l) => l.reqId === 'log-check-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      path: '/api/logged',
      status: 200,
      user: 'alice',
      authMethod: 'jwt',
      route: null,
      upstreamStatus: 200,
    });
    expect(typeof lines[0]?.durationMs).toBe('number');
    expect(typeof lines[0]?.time).toBe('string');
    const all = JSON.stringify(sidecar.logs);
    expect(all).not.toContain(token);
    expect(all).not.toContain('session=abc');
    expect(all).not.toContain('secret=query');
  });
});

/**
 * A port whose listener never accepts: a child process listens, then blocks its event loop,
 * and a few connections fill its accept queue, so the kernel drops any further SYN and a
 * connect hangs (as with a blackholed pod IP).
 */
async function unacceptingPort(): Promise<{ url: string; close: () => void }> {
  const child = spawn(process.execPath, [
    '-e',
    `const s = require('node:net').createServer();
     s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       process.stdout.write(s.address().port + '\\n');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
     });`,
  ]);
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d))));
  const fillers = Array.from({ length: 4 }, () => connect(port, '127.0.0.1').on('error', () => {}));
  // With backlog 1 the kernel queues two connections; once they are in, every further SYN is dropped.
  await eventually(() => fillers.filter((filler) => !filler.connecting).length >= 2, 'the accept queue to fill');
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
    },
  };
}
