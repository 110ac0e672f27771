// The three places that decide, asked about one request each: a proxied request, a
// forward-auth check (`/oauth2/auth` from a trusted peer, the request named by X-Forwarded-Uri
// and -Method) and `explain` (in-process, on the running sidecar's runtime). A table test
// sends each of its rows to all three and expects one verdict, the same challenges and the
// same identity (test/decision/*.test.ts).
import { expect } from 'vitest';
import { explain } from '../../src/explain.ts';
import { echoOf } from './echo-upstream.ts';
import type { TestSidecar } from './sidecar.ts';

export type Verdict = 'allowed' | 'public' | 'login' | 'unauthenticated' | 'forbidden' | 'throttled' | 'invalid';

export interface Row {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly verdict: Verdict;
  /** For allowed requests: who the app and the forward-auth caller are told the caller is. */
  readonly user?: string;
}

/** What one place answered, reduced to what the three must agree on. */
export interface Answer {
  readonly status: number;
  readonly challenges: string[];
  readonly login: string | null;
  readonly user: string | null;
}

export const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
export const API = { accept: 'application/json' };

export interface Places {
  proxied(row: Pick<Row, 'method' | 'path' | 'headers'>): Promise<Answer>;
  forwardAuth(row: Row): Promise<Answer>;
  explained(row: Row): Promise<Answer>;
}

/** The places of `sidecar`; `headersOf` turns a row's headers into what is sent. */
export function placesOf(
  sidecar: TestSidecar,
  headersOf: (row: Pick<Row, 'headers'>) => Record<string, string>,
): Places {
  return {
    async proxied(row) {
      const response = await fetch(`${sidecar.url}${row.path}`, {
        method: row.method ?? 'GET',
        headers: headersOf(row),
        redirect: 'manual',
      });
      const ok = response.status === 200 && row.method !== 'HEAD' && row.method !== 'OPTIONS';
      const user = ok ? (await echoOf(response)).headers['x-forwarded-user']?.join(',') : undefined;
      if (!ok) await response.arrayBuffer();
      return {
        status: response.status,
        challenges: challengesOf(response.headers),
        login: response.headers.get('location'),
        user: typeof user === 'string' ? user : null,
      };
    },
    async forwardAuth(row) {
      const response = await fetch(`${sidecar.url}/oauth2/auth`, {
        headers: { ...headersOf(row), 'x-forwarded-uri': row.path, 'x-forwarded-method': row.method ?? 'GET' },
        redirect: 'manual',
      });
      await response.arrayBuffer();
      return {
        status: response.status,
        challenges: challengesOf(response.headers),
        login: response.headers.get('x-auth-request-login'),
        user: response.headers.get('x-auth-request-user'),
      };
    },
    async explained(row) {
      const result = await explain(sidecar.current(), {
        method: row.method ?? 'GET',
        target: row.path,
        headers: headersOf(row),
      });
      const { headers } = result;
      const challenge = headers['WWW-Authenticate'];
      const location = headers.Location;
      return {
        status: result.status ?? 0,
        challenges: challenge === undefined ? [] : [challenge].flat(),
        login: typeof location === 'string' ? location : null,
        user: result.status === 200 && result.identity ? result.identity.user : null,
      };
    },
  };
}

function challengesOf(headers: Headers): string[] {
  // Each challenge is its own header line; fetch joins lines with ", " so split them back.
  const value = headers.get('www-authenticate');
  return value === null ? [] : value.split(/, (?=(?:Bearer|Basic|Cookie) )/);
}

/** The status each place gives a verdict (forward-auth answers 2xx/401/403/429 only). */
const STATUS: Record<Verdict, { proxied: number; check: number }> = {
  allowed: { proxied: 200, check: 202 },
  public: { proxied: 200, check: 202 },
  login: { proxied: 302, check: 401 },
  unauthenticated: { proxied: 401, check: 401 },
  forbidden: { proxied: 403, check: 403 },
  throttled: { proxied: 429, check: 429 },
  invalid: { proxied: 400, check: 403 },
};

/** Sends `row` to the three places and expects them to agree, with the row's verdict. */
export async function expectOneDecision(places: Places, row: Row): Promise<void> {
  const [viaProxy, viaCheck, viaExplain] = [
    await places.proxied(row),
    await places.forwardAuth(row),
    await places.explained(row),
  ];
  const expected = STATUS[row.verdict];
  expect(viaProxy.status, 'proxied').toBe(expected.proxied);
  expect(viaCheck.status, 'forward-auth').toBe(expected.check);
  expect(viaExplain.status, 'explain').toBe(expected.proxied);
  // The same challenges everywhere. A login redirect carries none; forward-auth answers a
  // browser's check with a 401, with the challenges the pipeline gives an API client.
  const asApi =
    row.verdict === 'login' ? await places.proxied({ ...row, headers: { ...row.headers, ...API } }) : viaProxy;
  expect(viaCheck.challenges, 'forward-auth challenges').toEqual(asApi.challenges);
  expect(viaExplain.challenges, 'explain challenges').toEqual(viaProxy.challenges);
  if (row.verdict === 'unauthenticated') expect(viaProxy.challenges.length).toBeGreaterThan(0);
  // The browser is sent to the same login, with the same rd.
  expect(viaCheck.login, 'forward-auth login').toBe(viaProxy.login);
  expect(viaExplain.login, 'explain login').toBe(viaProxy.login);
  if (row.verdict === 'login') expect(viaProxy.login).toMatch(/^\/oauth2\/start\?rd=/);
  // The same identity for the app, the forward-auth caller and explain.
  const user = row.user ?? null;
  expect(viaProxy.user, 'the app').toBe(user);
  expect(viaCheck.user, 'forward-auth').toBe(user);
  expect(viaExplain.user, 'explain').toBe(user);
}

const CREDENTIAL = '\0credential:';

/**
 * Rows name their credential (`auth('jwtAdmin')`, `cookie('session_bob')`); its value exists
 * only once the table's beforeAll has made it and put it in `values`.
 */
export interface Credentials {
  readonly values: Record<string, string>;
  auth(name: string): Record<string, string>;
  cookie(name: string): Record<string, string>;
  /** A row's headers with each named credential replaced by its value. */
  headersOf(row: Pick<Row, 'headers'>): Record<string, string>;
}

export function credentialTable(): Credentials {
  const values: Record<string, string> = {};
  return {
    values,
    auth: (name) => ({ authorization: CREDENTIAL + name }),
    cookie: (name) => ({ cookie: CREDENTIAL + name }),
    headersOf: (row) =>
      Object.fromEntries(
        Object.entries(row.headers ?? {}).map(([name, value]) => [
          name,
          value.startsWith(CREDENTIAL) ? (values[value.slice(CREDENTIAL.length)] as string) : value,
        ]),
      ),
  };
}
