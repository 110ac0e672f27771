// What one request carries through the pipeline, and the Koa types bound to it.
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Middleware, ParameterizedContext } from 'koa';
import type { Identity } from '../authn/identity.ts';
import type { Route } from '../authz/route-table.ts';
import type { Decision } from '../decision/decide.ts';
import type { RequestFacts } from '../decision/facts.ts';
import type { Runtime } from '../decision/runtime.ts';
import type { RefusalCode } from '../errors.ts';

export interface RequestState {
  /** The config this request runs under, fixed at its start even if a reload happens. */
  runtime: Runtime;
  requestId: string;
  /** The client's address as far as trustedProxies let us know it. */
  clientAddress: string;
  /** What the decision is made on (http/read-request.ts). */
  facts?: RequestFacts;
  decision?: Decision;
  /** The route that decided, for the log and metrics. */
  route?: Route;
  /** Who the caller is (or, for a forward-auth check, who the checked request is); null on a public route. */
  identity?: Identity | null;
  /** The app's status, when the app answered. */
  upstreamStatus?: number;
  /** What a WebSocket upgrade got (written on the raw socket, so not in res.statusCode). */
  upgradeStatus?: number;
  /** Why the sidecar refused or failed the request (the access line's `error`); absent when it did not. */
  refusal?: RefusalCode;
  /** Why the route rules refused the identity; logged, never sent. */
  denied?: string;
  /** For a forward-auth check: the request it was asked about, and the rule that decided it. */
  checked?: { method: string | null; path: string | null; route: string | null };
  /** Present when the request asks for a WebSocket upgrade. */
  upgrade?: Upgrade;
}

export interface Upgrade {
  readonly socket: Duplex;
  readonly head: Buffer;
}

/**
 * The response of a WebSocket upgrade request: bound to the raw socket, so that a refusal is a
 * complete HTTP answer (401 with its challenges), and carrying the socket to the proxy step.
 */
export class UpgradeResponse extends ServerResponse {
  readonly upgrade: Upgrade;

  constructor(req: IncomingMessage, upgrade: Upgrade) {
    super(req);
    this.upgrade = upgrade;
  }
}

export type Context = ParameterizedContext<RequestState>;
export type Step = Middleware<RequestState>;
