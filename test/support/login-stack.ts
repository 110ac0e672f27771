// Everything a browser login needs, started for real: an OpenID Provider, the echo upstream,
// and a sidecar whose publicUrl is http://app.test (reached through the test browser's host
// map). `login()` walks a browser through the provider's login form and back.
import type { ClientMetadata } from 'oidc-provider';
import { formAction, type Page, TestBrowser } from './browser.ts';
import { type EchoUpstream, startEchoUpstream } from './echo-upstream.ts';
import { freePort } from './free-port.ts';
import { PASSWORD, type ProviderOptions, startOidcProvider, type TestProvider } from './oidc-provider.ts';
import { startTestSidecar, type TestSidecar } from './sidecar.ts';

export const PUBLIC_URL = 'http://app.test';
export const PUBLIC_HOST = 'app.test';
export const CLIENT_ID = 'legacy-app';
export const CLIENT_SECRET = 'client secret for tests only';
export const COOKIE_SECRET = 'a cookie secret of at least 32 bytes, for tests';

export interface LoginStack {
  readonly provider: TestProvider;
  readonly upstream: EchoUpstream;
  readonly sidecars: TestSidecar[];
  readonly sidecar: TestSidecar;
  /** A fresh browser that reaches app.test on the given sidecar (default: the first). */
  browser(sidecar?: TestSidecar): TestBrowser;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Sidecar config keys, merged over the defaults (shallowly per top-level key). */
  config?: Record<string, unknown>;
  provider?: ProviderOptions;
  /** Client registration fields, merged over the defaults. */
  client?: Partial<ClientMetadata>;
  /** How many sidecars share the config (and its store). */
  replicas?: number;
}

export function sidecarConfig(
  issuer: string,
  upstream: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const session = { cookie: { secret: COOKIE_SECRET }, ...(overrides.session as object | undefined) };
  // oidc and session are merged key by key over the defaults; other keys replace them.
  return {
    upstream: { url: upstream },
    publicUrl: PUBLIC_URL,
    ...overrides,
    oidc: { ...providerEntry(issuer), ...(overrides.oidc as object | undefined) },
    session,
  };
}

/** One `oidc` entry for the test client at `issuer`. */
export function providerEntry(issuer: string): Record<string, unknown> {
  return { issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scopes: ['openid', 'profile', 'email', 'groups'] };
}

export function clientFor(backchannelBase: string, extra: Partial<ClientMetadata> = {}): ClientMetadata {
  return {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [`${PUBLIC_URL}/oauth2/callback`],
    post_logout_redirect_uris: [`${PUBLIC_URL}/oauth2/sign_out`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    backchannel_logout_uri: `${backchannelBase}/oauth2/backchannel_logout`,
    backchannel_logout_session_required: true,
    ...extra,
  };
}

export async function startLoginStack(options: StackOptions = {}): Promise<LoginStack> {
  const provider = await startOidcProvider(options.provider);
  const upstream = await startEchoUpstream();
  const sidecars: TestSidecar[] = [];
  for (let i = 0; i < (options.replicas ?? 1); i++) {
    sidecars.push(await startTestSidecar(sidecarConfig(provider.issuer, upstream.url, options.config)));
  }
  const first = sidecars[0] as TestSidecar;
  provider.addClient(clientFor(first.url, options.client));
  return {
    provider,
    upstream,
    sidecars,
    sidecar: first,
    browser: (sidecar = first) => new TestBrowser({ [PUBLIC_HOST]: sidecar.url }),
    close: async () => {
      await Promise.all(sidecars.map((s) => s.stop()));
      await upstream.close();
      await provider.close();
    },
  };
}

/**
 * Opens `path` on app.test without a session and logs in as `user` on the provider's form.
 * Returns every hop after the form (the callback's redirect, then the app's answer).
 */
export async function login(browser: TestBrowser, user = 'alice', path = '/'): Promise<Page[]> {
  const toForm = await browser.navigate(`${PUBLIC_URL}${path}`);
  const form = toForm[toForm.length - 1] as Page;
  return submitLogin(browser, form, user);
}

/** Fills in the provider's login form on `form` and follows the redirects back. */
export async function submitLogin(browser: TestBrowser, form: Page, user = 'alice'): Promise<Page[]> {
  const posted = await browser.fetch(formAction(form), { method: 'POST', form: { login: user, password: PASSWORD } });
  if (posted.location === undefined) throw new Error(`login form answered ${posted.status}: ${posted.body}`);
  return [posted, ...(await browser.navigate(posted.location))];
}

/**
 * Runs a login from `{pathPrefix}/start?rd=...` (at `provider`, when one is named) up to the
 * provider's redirect back, and returns the callback URL without visiting it. Logs in on the
 * provider's form when it shows one (a browser already signed in at the provider goes
 * straight through).
 */
export async function callbackUrl(
  browser: TestBrowser,
  rd = '/private',
  user = 'alice',
  provider?: string,
): Promise<string> {
  const callback = `${PUBLIC_URL}/oauth2/callback`;
  const at = provider === undefined ? '' : `provider=${provider}&`;
  let page = await browser.fetch(`${PUBLIC_URL}/oauth2/start?${at}rd=${encodeURIComponent(rd)}`);
  for (let hops = 0; hops < 10; hops++) {
    if (page.location?.startsWith(callback)) return page.location;
    if (page.location !== undefined) page = await browser.fetch(page.location);
    else if (page.status === 200) {
      page = await browser.fetch(formAction(page), { method: 'POST', form: { login: user, password: PASSWORD } });
    } else break;
  }
  throw new Error(`the login did not come back to the callback (${page.status} at ${page.url})`);
}

export interface ProvidersStack {
  /** The OpenID Providers that run, by name (one configured as down has none). */
  readonly providers: Readonly<Record<string, TestProvider>>;
  readonly upstream: EchoUpstream;
  readonly sidecar: TestSidecar;
  browser(): TestBrowser;
  close(): Promise<void>;
}

export interface ProvidersStackOptions {
  /** The `oidc` entries' names, in order; each gets a real provider unless it is in `down`. */
  readonly names: readonly string[];
  /** Providers configured at an address where nothing listens. */
  readonly down?: readonly string[];
  /** Sidecar config keys besides oidc (routes, session, ...). */
  readonly config?: Record<string, unknown>;
  /** Options of every provider that runs. */
  readonly provider?: ProviderOptions;
}

/** One sidecar with `oidc` as a list of named providers, each a real oidc-provider. */
export async function startProvidersStack(options: ProvidersStackOptions): Promise<ProvidersStack> {
  const providers: Record<string, TestProvider> = {};
  const issuers: Record<string, string> = {};
  for (const name of options.names) {
    if (options.down?.includes(name)) {
      issuers[name] = `http://127.0.0.1:${await freePort()}`;
    } else {
      providers[name] = await startOidcProvider(options.provider);
      issuers[name] = providers[name].issuer;
    }
  }
  const upstream = await startEchoUpstream();
  const oidc = options.names.map((name) => ({ name, ...providerEntry(issuers[name] as string) }));
  const sidecar = await startTestSidecar({ ...sidecarConfig('', upstream.url, options.config), oidc });
  for (const provider of Object.values(providers)) provider.addClient(clientFor(sidecar.url));
  return {
    providers,
    upstream,
    sidecar,
    browser: () => new TestBrowser({ [PUBLIC_HOST]: sidecar.url }),
    close: async () => {
      await sidecar.stop();
      await upstream.close();
      await Promise.all(Object.values(providers).map((p) => p.close()));
    },
  };
}

/** The links of the provider choice page: provider name → start URL (absolute). */
export function choiceLinks(page: Page): Record<string, string> {
  const decode = (html: string) => html.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));
  const links = [...page.body.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)];
  return Object.fromEntries(links.map((m) => [decode(m[2] as string), new URL(decode(m[1] as string), page.url).href]));
}

/**
 * Opens `path` on app.test without a session, picks `provider` on the choice page as a user
 * would, and logs in there as `user`. Returns every hop after the provider's form.
 */
export async function loginAt(browser: TestBrowser, provider: string, user = 'alice', path = '/'): Promise<Page[]> {
  const toChoice = await browser.navigate(`${PUBLIC_URL}${path}`);
  const link = choiceLinks(toChoice[toChoice.length - 1] as Page)[provider];
  if (link === undefined) throw new Error(`the choice page has no link for ${provider}`);
  const toForm = await browser.navigate(link);
  return submitLogin(browser, toForm[toForm.length - 1] as Page, user);
}
