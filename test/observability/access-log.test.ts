// The access line answers "why was I refused" on its own: every answer the sidecar makes
// instead of the app names its reason in `error`, the same reason counts in
// auth_sidecar_refusals_total, and no line ever carries the credential it judged.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, htpasswd } from '../support/htpasswd.ts';
import { type JwtStack, startJwtStack } from '../support/jwt-stack.ts';
import { tempDir } from '../support/sidecar.ts';
import { eventually } from '../support/wait.ts';

let stack: JwtStack;

beforeAll(async () => {
  const dir = tempDir();
  htpasswd(join(dir, 'htpasswd'), [{ user: 'carol', password: 'carol-pw' }]);
  stack = await startJwtStack({
    basic: { htpasswdFile: join(dir, 'htpasswd'), lockout: { maxFailures: 2, addressMaxFailures: 0 } },
    routes: [
      { path: '/public/**', auth: 'none' },
      { path: '/admin/**', allow: { groups: ['admins'] } },
    ],
  });
});
afterAll(() => stack?.close());

async function lineOf(path: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const requestId = `access-${Math.random().toString(36).slice(2)}`;
  const response = await fetch(`${stack.sidecar.url}${path}`, { headers: { ...headers, 'x-request-id': requestId } });
  await response.arrayBuffer();
  let line: Record<string, unknown> | undefined;
  await eventually(() => {
    line = stack.sidecar.logs.find((l) => l.msg === 'request' && l.reqId === requestId);
    return line !== undefined;
  }, 'the access line');
  return line as Record<string, unknown>;
}

async function refusals(reason: string): Promise<number> {
  const text = await (await fetch(`${stack.sidecar.adminUrl}/metrics`)).text();
  return Number(new RegExp(`auth_sidecar_refusals_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 'NaN');
}

describe('the access line', () => {
  it('has the contract fields, in order, for an allowed request and no error', async () => {
    const token = await stack.token({ sub: 'alice' });
    const line = await lineOf('/hello?secret=1', { authorization: `Bearer ${token}` });
    expect(Object.keys(line)).toEqual([
      'level',
      'time',
      'reqId',
      'method',
      'path',
      'status',
      'durationMs',
      'user',
      'authMethod',
      'route',
      'upstreamStatus',
      'client',
      'msg',
    ]);
    expect(line).toMatchObject({ level: 'info', path: '/hello', status: 200, user: 'alice', authMethod: 'jwt' });
    expect(JSON.stringify(line)).not.toContain(token);
  });

  it.each([
    ['no credential', '/private', {}, 401, 'no_credentials'],
    ['an expired token', '/private', 'expired', 401, 'token_expired'],
    ['a tampered token', '/private', 'tampered', 401, 'bad_signature'],
    ['a token for an unknown key', '/private', 'unknown-kid', 401, 'unknown_kid'],
    ['a path that does not normalize', '/public/..%2fadmin', {}, 400, 'invalid_path'],
    ['a wrong password', '/private', basicAuth('carol', 'wrong'), 401, 'wrong_password'],
    ['a user the rules refuse', '/admin/x', 'valid', 403, 'forbidden'],
    ['an unknown endpoint', '/oauth2/nope', {}, 404, 'not_found'],
  ] as const)('names the reason for %s, and counts it', async (_name, path, credential, status, reason) => {
    const before = await refusals(reason);
    const line = await lineOf(path, await headersFor(credential));
    expect(line).toMatchObject({ status, error: reason });
    expect(await refusals(reason)).toBe(before + 1);
  });

  it('names a lockout', async () => {
    for (let i = 0; i < 2; i++) await lineOf('/private', { authorization: basicAuth('carol', `guess-${i}`) });
    const line = await lineOf('/private', { authorization: basicAuth('carol', 'carol-pw') });
    expect(line).toMatchObject({ status: 429, error: 'locked_out' });
  });

  it('has every refusal reason at 0 from the start', async () => {
    expect(await refusals('jwks_unavailable')).toBe(0);
    expect(await refusals('session_invalid')).toBe(0);
  });
});

async function headersFor(credential: string | Record<string, string>): Promise<Record<string, string>> {
  if (typeof credential === 'object') return credential;
  if (credential.startsWith('Basic ')) return { authorization: credential };
  const now = Math.floor(Date.now() / 1000);
  const token =
    credential === 'expired'
      ? await stack.token({ iat: now - 900, exp: now - 600 })
      : credential === 'unknown-kid'
        ? await stack.token({}, { kid: 'nobody-has-this-key' })
        : await stack.token({ sub: 'bob', groups: ['dev'] });
  return { authorization: `Bearer ${credential === 'tampered' ? `${token.slice(0, -4)}AAAA` : token}` };
}
