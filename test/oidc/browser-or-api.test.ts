// Browser or API: without credentials, a browser navigation on a route that accepts login
// sessions is sent to the login (302); everything else gets 401 with its challenges.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { freePort } from '../support/free-port.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, type SigningKey, signToken } from '../support/keys.ts';
import { startTestSidecar, type TestSidecar, tempDir } from '../support/sidecar.ts';

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('browser or API', () => {
  let upstream: EchoUpstream;
  let sidecar: TestSidecar;
  let key: SigningKey;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    key = await createSigningKey();
    const dir = tempDir();
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
    sidecar = await startTestSidecar(
      {
        upstream: { url: upstream.url },
        publicUrl: 'https://app.example.com',
        jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: 'jwks.json' },
        // Never reached by these tests: nothing here follows the redirect to the login.
        oidc: { issuer: `http://127.0.0.1:${await freePort()}`, clientId: 'legacy-app' },
        session: { cookie: { secret: 'x'.repeat(32) } },
        routes: [
          { path: '/public/**', auth: 'none' },
          { path: '/api/**', auth: ['jwt'] },
          { path: '/app-only/**', auth: ['session'] },
        ],
      },
      { dir },
    );
  });
  afterAll(async () => {
    await sidecar.stop();
    await upstream.close();
  });

  async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
    const response = await request(`${sidecar.url}${path}`, { method: method as 'GET', headers });
    await response.body.text();
    return { status: response.statusCode, headers: response.headers };
  }

  it('sends a browser navigation to the login with the path and query as rd', async () => {
    const answer = await get('/reports/2024?sort=desc&x=%2F', { accept: HTML });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe(`/oauth2/start?rd=${encodeURIComponent('/reports/2024?sort=desc&x=%2F')}`);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['www-authenticate']).toBeUndefined();
    expect((await get('/', { accept: 'text/html' })).headers.location).toBe('/oauth2/start?rd=%2F');
  });

  it('redirects HEAD like GET', async () => {
    expect((await get('/x', { accept: HTML }, 'HEAD')).status).toBe(302);
  });

  it('answers 401 with the challenges to everything that is not a browser navigation', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['no Accept', {}, 'GET'],
      ['Accept */* alone', { accept: '*/*' }, 'GET'],
      ['Accept JSON', { accept: 'application/json' }, 'GET'],
      ['text/html refused with q=0', { accept: 'text/html;q=0, application/json' }, 'GET'],
      ['XHR', { accept: HTML, 'x-requested-with': 'XMLHttpRequest' }, 'GET'],
      ['a POST', { accept: HTML }, 'POST'],
      ['a DELETE', { accept: HTML }, 'DELETE'],
    ];
    for (const [name, headers, method] of cases) {
      const answer = await get('/reports', headers, method);
      expect(answer.status, name).toBe(401);
      expect(answer.headers['www-authenticate'], name).toBe('Bearer realm="auth-sidecar"');
    }
  });

  it('answers 401 (invalid_token) to a browser that sent a bad credential', async () => {
    const answer = await get('/reports', { accept: HTML, authorization: 'Bearer not-a-token' });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="auth-sidecar", error="invalid_token"/);
  });

  it('does not redirect on a route that does not accept sessions (no login loop)', async () => {
    const answer = await get('/api/items', { accept: HTML });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="auth-sidecar"');
  });

  it('names a Cookie challenge on a route that accepts only sessions', async () => {
    expect((await get('/app-only/page', { accept: HTML })).status).toBe(302);
    const answer = await get('/app-only/page', { accept: 'application/json' });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe(
      'Cookie realm="auth-sidecar", form-action="/oauth2/start", cookie-name="_auth_sidecar"',
    );
  });

  it('lets bearer tokens through as before, and public routes', async () => {
    const token = await signToken(key);
    expect((await get('/reports', { accept: HTML, authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get('/public/logo.png', { accept: HTML })).status).toBe(200);
  });

  it('never redirects on the sidecar endpoints or a WebSocket upgrade', async () => {
    expect((await get('/oauth2/userinfo', { accept: HTML })).status).toBe(401);
    const ws = new WebSocket(`${sidecar.url.replace('http', 'ws')}/socket`, { headers: { accept: HTML } });
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    ws.terminate();
    expect(status).toBe(401);
  });
});

describe('browser navigation without oidc', () => {
  it('gets 401: there is no login to send it to', async () => {
    const upstream = await startEchoUpstream();
    const dir = tempDir();
    const key = await createSigningKey();
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
    const sidecar = await startTestSidecar(
      { upstream: { url: upstream.url }, jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: 'jwks.json' } },
      { dir },
    );
    try {
      const response = await request(`${sidecar.url}/x`, { headers: { accept: HTML } });
      await response.body.text();
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="auth-sidecar"');
    } finally {
      await sidecar.stop();
      await upstream.close();
    }
  });
});
