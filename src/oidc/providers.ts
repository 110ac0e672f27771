// The OpenID Providers of one config: one `oidc` entry (0.1's shape, a name optional) or a
// list of named ones. Each has its own client (discovery, JWKS, and the outage pause of a
// provider that is down, so one provider out of reach never stops the others) and its own
// logout token verifier. A login attempt and a session record the issuer of the provider
// they belong to, and are only ever handled by that provider (refresh, sign-out, the code
// exchange, where openid-client checks RFC 9207's `iss` against it): a response or a token
// from another provider fails its checks.
import type { ClaimsConfig, OidcConfig } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { LogoutTokenVerifier } from './logout-token.ts';
import { OidcClient, type OidcClientOptions } from './provider-client.ts';

export interface Provider {
  /** The entry's name; undefined for a single `oidc` entry without one. */
  readonly name: string | undefined;
  /** The issuer as configured: what login attempts and sessions record. */
  readonly issuer: string;
  readonly client: OidcClient;
  readonly logoutTokens: LogoutTokenVerifier;
  readonly claims: ClaimsConfig;
  readonly passAccessToken: boolean;
}

export class Providers {
  readonly list: readonly Provider[];
  /** The provider when only one is configured: /start goes straight to it. */
  readonly only: Provider | undefined;
  private readonly byIssuer: ReadonlyMap<string, Provider>;
  private readonly byName: ReadonlyMap<string, Provider>;

  constructor(list: readonly Provider[]) {
    this.list = list;
    this.only = list.length === 1 ? list[0] : undefined;
    this.byIssuer = new Map(list.map((p) => [p.issuer, p]));
    this.byName = new Map(list.flatMap((p) => (p.name === undefined ? [] : [[p.name, p] as const])));
  }

  /** Discovers every provider now (at start-up), so that a wrong issuer shows in the log at once. */
  prefetch(): void {
    for (const provider of this.list) provider.client.prefetch();
  }

  named(name: string): Provider | undefined {
    return this.byName.get(name);
  }

  /**
   * The provider a login attempt or a session belongs to, by the issuer it recorded; undefined
   * when that provider is no longer configured (the session ends). A session from before
   * providers were recorded (0.1) belongs to the only provider, and to none of several.
   */
  recorded(issuer: string | undefined): Provider | undefined {
    return issuer === undefined ? this.only : this.byIssuer.get(issuer);
  }

  /** The provider whose issuer a token names (`iss`), compared as URLs; undefined for none. */
  issuedBy(iss: string | undefined): Provider | undefined {
    if (iss === undefined) return undefined;
    const exact = this.byIssuer.get(iss);
    if (exact !== undefined || !URL.canParse(iss)) return exact;
    const href = new URL(iss).href;
    return this.list.find((p) => new URL(p.issuer).href === href);
  }
}

/**
 * The providers of `entries`. A provider whose client settings did not change keeps its
 * client and verifier across a reload, with what they discovered and the keys they fetched.
 */
export function buildProviders(
  entries: readonly OidcConfig[],
  redirectUri: string,
  services: { readonly logger: Logger; readonly metrics: Metrics },
  previous: Providers | undefined,
): Providers {
  return new Providers(
    entries.map((entry) => {
      const options: OidcClientOptions = {
        issuer: entry.issuer,
        clientId: entry.clientId,
        clientSecret: entry.clientSecret,
        redirectUri,
        scopes: entry.scopes,
        logger: services.logger,
        onDiscovery: (result) => services.metrics.oidcDiscoveries.inc({ result }),
      };
      const running = previous?.recorded(entry.issuer);
      const same = running !== undefined && sameClientOptions(running.client.options, options);
      const client = same ? running.client : new OidcClient(options);
      return {
        name: entry.name,
        issuer: entry.issuer,
        client,
        logoutTokens: same ? running.logoutTokens : new LogoutTokenVerifier(client),
        claims: entry.claims,
        passAccessToken: entry.passAccessToken,
      };
    }),
  );
}

function sameClientOptions(a: OidcClientOptions, b: OidcClientOptions): boolean {
  return JSON.stringify(a, omitLogger) === JSON.stringify(b, omitLogger);
}

/** Compares the settings, not the parts passed in (JSON.stringify drops functions anyway). */
function omitLogger(key: string, value: unknown): unknown {
  return key === 'logger' ? undefined : value;
}
