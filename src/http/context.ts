// What one request carries through the pipeline, and the Koa types bound to it.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Middleware, ParameterizedContext } from 'koa';
import type { Authorization } from '../authn/authorization-header.ts';
import type { Identity } from '../authn/identity.ts';
import type { Target } from '../authz/normalize-path.ts';
import type { Route } from '../authz/route-table.ts';
import type { Runtime } from '../runtime.ts';

export interface RequestState {
  /** The config this request runs under, fixed at its start even if a reload happens. */
  runtime: Runtime;
  requestId: string;
  /** The client's address as far as trustedProxies let us know it. */
  clientAddress: string;
  target?: Target;
  /** The request's single Authorization header, parsed once (read-target.ts). */
  authorization?: Authorization | undefined;
  route?: Route;
  /** null on a public route. */
  identity?: Identity | null;
  /** The app's status, when the app answered. */
  upstreamStatus?: number;
  /** What a WebSocket upgrade got (written on the raw socket, so not in res.statusCode). */
  upgradeStatus?: number;
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

/** WebSocket upgrade requests, registered by the server's upgrade handler. */
export const upgrades = new WeakMap<IncomingMessage, Upgrade>();

export type Context = ParameterizedContext<RequestState>;
export type Step = Middleware<RequestState>;
