// A real OpenID Provider in the test process (panva's oidc-provider): discovery, PKCE required,
// authorization code + refresh tokens, userinfo with email and groups, RP-initiated logout and
// back-channel logout. Its login page is a plain form (user name and password) that both the
// HTTP test browser and Chromium can fill in; no consent screen.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { type ClientMetadata, type Configuration } from 'oidc-provider';

export interface TestUser {
  readonly email: string;
  readonly groups: readonly string[];
  readonly preferredUsername?: string;
}

export const USERS: Readonly<Record<string, TestUser>> = {
  alice: { email: 'alice@example.com', groups: ['admins', 'staff'], preferredUsername: 'Alice' },
  bob: { email: 'bob@example.com', groups: ['staff'] },
  // Claims a header cannot carry exactly: each would arrive at the app as alice's (issue 11).
  carl: { email: 'alice@example.com\u0000', groups: ['ad\u0000mins', ' admins', 'staff'], preferredUsername: 'alice ' },
};
export const PASSWORD = 'correct horse';

export interface TestProvider {
  readonly issuer: string;
  readonly provider: Provider;
  /** The provider's signing key (private), to forge or mint logout tokens in tests. */
  readonly signingKey: JWK & { kid: string };
  /** Token endpoint grants, by grant_type. */
  readonly grants: Record<string, number>;
  /** Back-channel logout deliveries: ok or the error. */
  readonly backchannel: { ok: number; errors: string[] };
  /** Registers the client (once the sidecar's address is known). */
  addClient(client: ClientMetadata): void;
  close(): Promise<void>;
}

export interface ProviderOptions {
  /** Where it listens (127.0.0.1); a free port by default. */
  port?: number;
  /** Access token lifetime in seconds (short ones exercise refresh). */
  accessTokenTtl?: number;
  /** Refresh token lifetime in seconds (a short one makes a refresh fail: the session ends). */
  refreshTokenTtl?: number;
  /** The provider's signing algorithm (RS256 by default; register the client with the same). */
  signingAlg?: 'RS256' | 'ES256';
  /** Put the scope claims in the ID token too (otherwise they come only from userinfo). */
  claimsInIdToken?: boolean;
}

export async function startOidcProvider(options: ProviderOptions = {}): Promise<TestProvider> {
  const alg = options.signingAlg ?? 'RS256';
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'provider-key', alg, use: 'sig' };
  const clients: ClientMetadata[] = [];
  let provider: Provider | undefined;
  const grants: Record<string, number> = {};
  const backchannel = { ok: 0, errors: [] as string[] };
  const server: Server = createServer((req, res) => {
    if (!provider) return void res.writeHead(503).end();
    if (req.url?.startsWith('/interaction/')) return void interaction(provider, req, res).catch(() => res.end());
    provider.callback()(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const adapter = memoryAdapter(); // kept when a client is added: the provider's state survives
  const build = () => {
    provider = new Provider(issuer, configuration(clients, signingKey, options, adapter));
    provider.on('grant.success', (ctx) => {
      const type = String(ctx.oidc.params?.grant_type ?? 'unknown');
      grants[type] = (grants[type] ?? 0) + 1;
    });
    provider.on('backchannel.success', () => backchannel.ok++);
    provider.on('backchannel.error', (_ctx, error) => backchannel.errors.push(String((error as Error).message)));
  };
  build();
  return {
    issuer,
    get provider() {
      return provider as Provider;
    },
    signingKey,
    grants,
    backchannel,
    addClient(client) {
      clients.push(client);
      build();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Payload = Record<string, unknown>;

/**
 * The provider's storage, in memory (its own default warns on every start): one per provider,
 * so that two providers in one test never see each other's codes, grants or sessions.
 */
function memoryAdapter() {
  const rows = new Map<string, { payload: Payload; expiresAt: number }>();
  return class MemoryAdapter {
    private readonly name: string;

    constructor(name: string) {
      this.name = name;
    }

    private key(id: string): string {
      return `${this.name}:${id}`;
    }

    async upsert(id: string, payload: Payload, expiresIn: number): Promise<void> {
      rows.set(this.key(id), { payload: { ...payload }, expiresAt: Date.now() + expiresIn * 1000 });
    }

    async find(id: string): Promise<Payload | undefined> {
      const row = rows.get(this.key(id));
      return row && row.expiresAt > Date.now() ? row.payload : undefined;
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      for (const [key, row] of rows) {
        if (key.startsWith(`${this.name}:`) && row.payload.uid === uid && row.expiresAt > Date.now())
          return row.payload;
      }
      return undefined;
    }

    async findByUserCode(): Promise<undefined> {
      return undefined;
    }

    async consume(id: string): Promise<void> {
      const row = rows.get(this.key(id));
      if (row) row.payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string): Promise<void> {
      rows.delete(this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, row] of rows) if (row.payload.grantId === grantId) rows.delete(key);
    }
  };
}

function configuration(
  clients: ClientMetadata[],
  key: JWK,
  options: ProviderOptions,
  adapter: ReturnType<typeof memoryAdapter>,
): Configuration {
  return {
    adapter,
    clients,
    jwks: { keys: [key] },
    cookies: { keys: ['provider cookie key for tests only'] },
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username'],
      groups: ['groups'],
    },
    conformIdTokenClaims: !options.claimsInIdToken,
    findAccount: (_ctx, id) => {
      const user = USERS[id];
      if (!user) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          email: user.email,
          email_verified: true,
          groups: [...user.groups],
          ...(user.preferredUsername ? { preferred_username: user.preferredUsername } : {}),
        }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = `<!doctype html><title>Sign out</title>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`;
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.body = '<!doctype html><title>Signed out</title><p>Signed out.</p>';
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Every refresh token is single-use, and reusing one revokes the grant (as many providers
    // do): two refreshes of one session with the same token would end it.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: options.accessTokenTtl ?? 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: options.refreshTokenTtl ?? 86400,
      Interaction: 600,
      Session: 86400,
      Grant: 86400,
    },
    // The sidecar under test listens on 127.0.0.1, which the provider's SSRF guard refuses.
    fetch: (url, init) => fetch(url, { ...init, dispatcher: undefined } as RequestInit),
  } as Configuration;
}

/** GET /interaction/:uid shows the login form; POST /interaction/:uid logs in (and consents). */
async function interaction(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><title>Sign in</title><form method="post" action="/interaction/${details.uid}">` +
        '<input name="login" autocomplete="username"><input name="password" type="password">' +
        '<button type="submit">Sign in</button></form>',
    );
    return;
  }
  let body = '';
  for await (const chunk of req) body += chunk;
  const form = new URLSearchParams(body);
  const accountId = form.get('login') ?? '';
  if (!USERS[accountId] || form.get('password') !== PASSWORD) {
    res.writeHead(401, { 'content-type': 'text/plain' }).end('wrong user name or password');
    return;
  }
  const clientId = String(details.params.client_id);
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}
