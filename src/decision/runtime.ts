// What a request is decided and served with: the Runtime (everything built from one config,
// swapped whole on a reload) and the Services (what lives as long as the process). Types only:
// the composition root (runtime/build.ts) builds them, and every floor below it reads them
// from here, so no part imports the root.
import type { Authenticator } from '../authn/authenticator.ts';
import type { KeySetRegistry } from '../authn/jwt/key-set-registry.ts';
import type { RouteTable } from '../authz/route-table.ts';
import type { AuthMethod, Config } from '../config/schema.ts';
import type { IdentityTokenSigner } from '../identity-token/signer.ts';
import type { AddressList } from '../net/address.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Login } from '../oidc/login.ts';
import type { SessionStore } from '../sessions/store.ts';
import type { ListenerTls } from '../tls/listener-tls.ts';
import type { Upstream } from '../upstream/forward.ts';
import type { HeaderPolicy } from '../upstream/headers.ts';
import type { WebSocketProxy } from '../upstream/websocket.ts';

/** Parts that live as long as the process, whatever the config. */
export interface Services {
  readonly logger: Logger;
  /** Writes one finished JSON line to the log's destination (the access line: http/access-log.ts). */
  readonly logLine: (line: string) => void;
  readonly metrics: Metrics;
  readonly keySets: KeySetRegistry;
  readonly websockets: WebSocketProxy;
  /** Set once SIGTERM arrived: readiness fails and connections are closed after each response. */
  draining: boolean;
  /** Build parts without connecting anywhere (check-config, explain): stores connect on first use. */
  readonly offline?: boolean;
}

/** A request keeps the Runtime it started with, so it never sees half of an old config. */
export interface Runtime {
  readonly config: Config;
  readonly routes: RouteTable;
  readonly authenticators: ReadonlyMap<AuthMethod, Authenticator>;
  readonly upstream: Upstream;
  /** Sessions, login state and counters (memory, or Redis shared by every replica). */
  readonly store: SessionStore;
  readonly trustedProxies: AddressList;
  readonly headerPolicy: HeaderPolicy;
  /** The realm named in every challenge. */
  readonly realm: string;
  /** Browser login (OIDC) and login sessions; undefined without `oidc`. */
  readonly login: Login | undefined;
  /** Signs the identity token for the app; undefined without `identityToken`. */
  readonly identityToken: IdentityTokenSigner | undefined;
  /** The main listener's certificate, key and client CAs; undefined without `tls` (plain HTTP). */
  readonly tls: ListenerTls | undefined;
}
