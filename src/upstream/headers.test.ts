import { describe, expect, it } from 'vitest';
import { NEVER_FORWARDED, PROXY_ONLY, spellings } from '../../test/support/spoofable-headers.ts';
import type { Identity } from '../authn/identity.ts';
import { buildUpstreamHeaders, type ForwardingFacts, type HeaderPolicy, utf8Bytes } from './headers.ts';

const alice: Identity = {
  user: 'alice',
  method: 'jwt',
  email: 'alice@example.com',
  preferredUsername: 'Alice',
  groups: ['admins', 'staff'],
  scopes: [],
  claims: {},
};
const untrusted: ForwardingFacts = { trusted: false, peerAddress: '203.0.113.9', scheme: 'http', requestId: 'req-1' };
const trusted: ForwardingFacts = { ...untrusted, trusted: true, peerAddress: '10.0.0.2' };
const policy: HeaderPolicy = { dropUnderscoreHeaders: true, passBasicAuthorization: false, passAccessToken: false };

/** name (lower case) → values, in order. */
function asMap(flat: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const name = (flat[i] as string).toLowerCase();
    map.set(name, [...(map.get(name) ?? []), flat[i + 1] as string]);
  }
  return map;
}

function build(
  raw: string[],
  options: { identity?: Identity | null; facts?: ForwardingFacts; policy?: Partial<HeaderPolicy> } = {},
) {
  return asMap(
    buildUpstreamHeaders(raw, options.identity === undefined ? alice : options.identity, options.facts ?? untrusted, {
      ...policy,
      ...options.policy,
    }),
  );
}

describe('identity headers', () => {
  it('strips every client copy, whatever the case, and injects the sidecar’s', () => {
    const headers = build([
      'X-Forwarded-User',
      'mallory',
      'x-forwarded-user',
      'mallory2',
      'X-FORWARDED-EMAIL',
      'm@evil.example',
      'x-Forwarded-Groups',
      'admins',
      'X-Forwarded-Preferred-Username',
      'root',
      'X-Forwarded-Access-Token',
      'forged',
      'X-Auth-Request-User',
      'mallory',
    ]);
    expect(headers.get('x-forwarded-user')).toEqual(['alice']);
    expect(headers.get('x-forwarded-email')).toEqual(['alice@example.com']);
    expect(headers.get('x-forwarded-groups')).toEqual(['admins,staff']);
    expect(headers.get('x-forwarded-preferred-username')).toEqual(['Alice']);
    expect(headers.has('x-forwarded-access-token')).toBe(false);
    expect(headers.has('x-auth-request-user')).toBe(false);
  });

  it('strips the underscore spelling even when underscore headers are kept', () => {
    const headers = build(['X_Forwarded_User', 'mallory', 'x_forwarded_email', 'm@evil', 'X_Custom_Thing', '1'], {
      policy: { dropUnderscoreHeaders: false },
    });
    expect(headers.get('x-forwarded-user')).toEqual(['alice']);
    expect(headers.has('x_forwarded_user')).toBe(false);
    expect(headers.has('x_forwarded_email')).toBe(false);
    expect(headers.get('x_custom_thing')).toEqual(['1']);
  });

  it('drops every header with an underscore by default', () => {
    const headers = build(['X_Custom_Thing', '1', 'X-Custom-Thing', '2']);
    expect(headers.has('x_custom_thing')).toBe(false);
    expect(headers.get('x-custom-thing')).toEqual(['2']);
  });

  it('never lets Connection remove the injected headers', () => {
    const headers = build([
      'Connection',
      'close, X-Forwarded-User, X-Forwarded-Groups, X-Request-Id',
      'X-Forwarded-User',
      'mallory',
    ]);
    expect(headers.get('x-forwarded-user')).toEqual(['alice']);
    expect(headers.get('x-forwarded-groups')).toEqual(['admins,staff']);
    expect(headers.get('x-request-id')).toEqual(['req-1']);
  });

  it('sends no identity on a public route, and strips client copies there too', () => {
    const headers = build(['X-Forwarded-User', 'mallory'], { identity: null });
    expect(headers.has('x-forwarded-user')).toBe(false);
  });

  it('omits groups when there are none, and email when there is none', () => {
    const headers = build([], { identity: { ...alice, groups: [], email: undefined, preferredUsername: undefined } });
    expect(headers.has('x-forwarded-groups')).toBe(false);
    expect(headers.has('x-forwarded-email')).toBe(false);
    expect(headers.has('x-forwarded-preferred-username')).toBe(false);
  });

  it('passes the access token only when the config asks', () => {
    const withToken = { ...alice, method: 'session' as const, accessToken: 'at-123' };
    expect(build([], { identity: withToken }).has('x-forwarded-access-token')).toBe(false);
    expect(
      build([], { identity: withToken, policy: { passAccessToken: true } }).get('x-forwarded-access-token'),
    ).toEqual(['at-123']);
  });
});

describe('hop-by-hop headers', () => {
  it('removes them, and every header the client names in Connection', () => {
    const headers = build([
      'Connection',
      'keep-alive, X-Secret-Hop',
      'Connection',
      'x-other-hop',
      'X-Secret-Hop',
      'a',
      'X-Other-Hop',
      'b',
      'Keep-Alive',
      'timeout=5',
      'TE',
      'trailers',
      'Trailer',
      'x',
      'Transfer-Encoding',
      'chunked',
      'Upgrade',
      'h2c',
      'Proxy-Authorization',
      'Basic abc',
      'Proxy-Connection',
      'keep-alive',
      'Expect',
      '100-continue',
      'X-Kept',
      'yes',
    ]);
    for (const name of [
      'connection',
      'x-secret-hop',
      'x-other-hop',
      'keep-alive',
      'te',
      'trailer',
      'transfer-encoding',
      'upgrade',
      'proxy-authorization',
      'proxy-connection',
      'expect',
    ]) {
      expect(headers.has(name), name).toBe(false);
    }
    expect(headers.get('x-kept')).toEqual(['yes']);
  });

  it('never lets Connection remove Host (nor X-Forwarded-Host with it) or a bearer token', () => {
    const headers = build([
      'Host',
      'app.example',
      'Connection',
      'close, Host, Authorization, Content-Length',
      'Authorization',
      'Bearer t.o.k',
      'Content-Length',
      '5',
    ]);
    expect(headers.get('host')).toEqual(['app.example']);
    expect(headers.get('x-forwarded-host')).toEqual(['app.example']);
    expect(headers.get('authorization')).toEqual(['Bearer t.o.k']);
    expect(headers.get('content-length')).toEqual(['5']);
  });

  it('keeps Upgrade for a WebSocket upgrade', () => {
    const flat = buildUpstreamHeaders(
      ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'],
      alice,
      untrusted,
      policy,
      true,
    );
    const headers = asMap(flat);
    expect(headers.get('upgrade')).toEqual(['websocket']);
    expect(headers.get('connection')).toEqual(['Upgrade']);
    expect(headers.get('sec-websocket-key')).toEqual(['k']);
  });
});

describe('forwarding headers', () => {
  it('replaces what an untrusted peer sends with what the sidecar sees', () => {
    const headers = build([
      'Host',
      'app.example',
      'X-Forwarded-For',
      '1.2.3.4',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'evil.example',
      'X-Real-IP',
      '1.2.3.4',
      'Forwarded',
      'for=1.2.3.4',
      'X-Original-URI',
      '/admin',
    ]);
    expect(headers.get('x-forwarded-for')).toEqual(['203.0.113.9']);
    expect(headers.get('x-forwarded-proto')).toEqual(['http']);
    expect(headers.get('x-forwarded-host')).toEqual(['app.example']);
    expect(headers.get('host')).toEqual(['app.example']);
    expect(headers.has('x-real-ip')).toBe(false);
    expect(headers.has('forwarded')).toBe(false);
    expect(headers.has('x-original-uri')).toBe(false);
  });

  it('extends what a trusted proxy sends', () => {
    const headers = build(
      [
        'Host',
        'pod:4180',
        'X-Forwarded-For',
        '1.2.3.4, 10.0.0.1',
        'X-Forwarded-For',
        '10.0.0.3',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'app.example',
        'X-Real-IP',
        '1.2.3.4',
      ],
      { facts: trusted },
    );
    expect(headers.get('x-forwarded-for')).toEqual(['1.2.3.4, 10.0.0.1, 10.0.0.3, 10.0.0.2']);
    expect(headers.get('x-forwarded-proto')).toEqual(['https']);
    expect(headers.get('x-forwarded-host')).toEqual(['app.example']);
    expect(headers.get('x-real-ip')).toEqual(['1.2.3.4']);
  });

  it('never forwards an identity, method-override or URL-rewrite header, not even from a trusted proxy', () => {
    const raw = spellings(NEVER_FORWARDED).flatMap((name) => [name, '/admin']);
    for (const facts of [untrusted, trusted]) {
      const headers = build(raw, { facts, policy: { dropUnderscoreHeaders: false } });
      for (const name of spellings(NEVER_FORWARDED)) {
        expect(headers.has(name.toLowerCase()), `${name} from ${facts.peerAddress}`).toBe(false);
      }
    }
  });

  it('drops every forwarding assertion from an untrusted peer and keeps it from a trusted proxy', () => {
    // Every spelling is sent; only the "-" one a proxy writes passes, and only from the proxy.
    const raw = spellings(PROXY_ONLY).flatMap((name) => [name, 'asserted']);
    const fromClient = build(raw, { policy: { dropUnderscoreHeaders: false } });
    const fromProxy = build(raw, { facts: trusted, policy: { dropUnderscoreHeaders: false } });
    for (const name of PROXY_ONLY) {
      const underscored = name.toLowerCase().replaceAll('-', '_');
      expect(fromClient.has(name.toLowerCase()), name).toBe(false);
      expect(fromClient.has(underscored), name).toBe(false);
      expect(fromProxy.get(name.toLowerCase()), name).toEqual(['asserted', 'asserted', 'asserted']);
      if (name.includes('-')) expect(fromProxy.has(underscored), name).toBe(false);
    }
  });

  it('always sets the request id, replacing any the client sent', () => {
    const headers = build(['X-Request-Id', 'client-id', 'x_request_id', 'other']);
    expect(headers.get('x-request-id')).toEqual(['req-1']);
  });
});

describe('Authorization', () => {
  it('passes a bearer token unchanged', () => {
    expect(build(['Authorization', 'Bearer abc.def.ghi']).get('authorization')).toEqual(['Bearer abc.def.ghi']);
  });

  it('removes basic credentials unless the config keeps them', () => {
    expect(build(['Authorization', 'Basic YTpi']).has('authorization')).toBe(false);
    expect(build(['authorization', 'basic YTpi']).has('authorization')).toBe(false);
    expect(
      build(['Authorization', 'Basic YTpi'], { policy: { passBasicAuthorization: true } }).get('authorization'),
    ).toEqual(['Basic YTpi']);
  });
});

describe('utf8Bytes', () => {
  it('keeps printable ASCII and sends other text as its UTF-8 bytes, changing nothing else', () => {
    expect(utf8Bytes('alice@example.com')).toBe('alice@example.com');
    expect(Buffer.from(utf8Bytes('José'), 'latin1').toString('utf8')).toBe('José');
    expect(Buffer.from(utf8Bytes('ä ö'), 'latin1').toString('utf8')).toBe('ä ö');
  });
});

describe('client-certificate headers', () => {
  const SENT = [
    'X-Forwarded-Client-Cert',
    'By=spiffe://evil;URI=spiffe://cluster/ns/prod/sa/admin',
    'x-client-cert',
    '-----BEGIN CERTIFICATE-----',
    'SSL-Client-Cert',
    'forged',
    'Client-Cert',
    ':MIIB:',
    'Client-Cert-Chain',
    ':MIIC:',
    'X-SSL-Client-Verify',
    'SUCCESS',
    'X-Kept',
    'yes',
  ];

  it('removes every one a client sends, from a trusted proxy too', () => {
    for (const facts of [untrusted, trusted]) {
      const headers = build(SENT, { facts });
      expect([...headers.keys()].filter((name) => /cert|verify/.test(name))).toEqual([]);
      expect(headers.get('x-kept')).toEqual(['yes']);
    }
  });

  it('removes the underscore spelling even when underscore headers are kept', () => {
    const headers = build(['X_Forwarded_Client_Cert', 'forged', 'ssl_client_cert', 'forged', 'X_Other', '1'], {
      policy: { dropUnderscoreHeaders: false },
    });
    expect([...headers.keys()].filter((name) => name.includes('cert'))).toEqual([]);
    expect(headers.get('x_other')).toEqual(['1']);
  });
});
