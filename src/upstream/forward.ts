// Forwarding to the app: plain HTTP over an undici keep-alive pool, bodies streamed both ways.
// The answer is written straight from undici's dispatch callbacks to the client's response:
// no Readable, no pipe and no promise per chunk in between (measured: see the commit that
// made it so). WebSocket upgrades go through http-proxy's ws(), see websocket.ts.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import PoolClass from 'undici/lib/dispatcher/pool.js';
import { ClientClosedError, UpstreamError } from '../errors.ts';
import { continueIfExpected } from '../net/raw-http.ts';

/** Response headers that describe the app's connection to us, not ours to the client. */
const RESPONSE_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
]);

export interface UpstreamOptions {
  url: string;
  timeoutSeconds: number;
}

export interface ForwardResult {
  status: number;
  /** Seconds until the app's response headers arrived. */
  headersSeconds: number;
}

export class Upstream {
  readonly origin: string;
  private readonly pool: Pool;

  constructor(options: UpstreamOptions) {
    this.origin = new URL(options.url).origin;
    const timeoutMs = options.timeoutSeconds * 1000;
    this.pool = new PoolClass(this.origin, {
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: { timeout: Math.min(timeoutMs, 10_000) },
    });
  }

  /**
   * Sends the request to the app and streams the answer to the client. Rejects with
   * UpstreamError (502/504) only while nothing has been sent to the client, and with
   * ClientClosedError when the client left first; after the headers went out a failure can
   * only cut the connection.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    headers: string[],
    closing: () => boolean,
  ): Promise<ForwardResult> {
    const body = hasBody(req) ? req : null;
    // The request is allowed: a client that waits for "100 Continue" may send its body now.
    if (body) continueIfExpected(req, res);
    return new Promise((resolve, reject) => {
      const exchange = new Exchange(res, closing, resolve, reject);
      this.pool.dispatch(
        { origin: this.origin, method: req.method as Dispatcher.HttpMethod, path, headers, body },
        exchange,
      );
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** One request's dispatch callbacks: the app's answer, written to the client as it comes. */
class Exchange implements Dispatcher.DispatchHandler {
  private readonly res: ServerResponse;
  private readonly closing: () => boolean;
  private readonly resolve: (result: ForwardResult) => void;
  private readonly reject: (error: Error) => void;
  private readonly started = performance.now();
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headersSeconds = 0;
  private clientGone = false;

  constructor(
    res: ServerResponse,
    closing: () => boolean,
    resolve: (result: ForwardResult) => void,
    reject: (error: Error) => void,
  ) {
    this.res = res;
    this.closing = closing;
    this.resolve = resolve;
    this.reject = reject;
    res.once('close', this.onClientClose);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new ClientClosedError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.status = statusCode;
    this.headersSeconds = (performance.now() - this.started) / 1000;
    // A drain began while the app was answering: Node then writes `Connection: close`, and the
    // client opens its next request elsewhere instead of on a connection about to go.
    if (this.closing()) this.res.shouldKeepAlive = false;
    try {
      this.res.writeHead(statusCode, responseHeaders(headers));
    } catch (error) {
      // A header value Node refuses to send: the app's answer cannot be passed on.
      controller.abort(new UpstreamError('unavailable', error));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return;
    controller.pause();
    this.res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    this.res.off('close', this.onClientClose);
    this.res.end();
    this.resolve({ status: this.status, headersSeconds: this.headersSeconds });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.res.off('close', this.onClientClose);
    if (this.clientGone) {
      this.reject(new ClientClosedError());
    } else if (!this.res.headersSent) {
      this.reject(error instanceof UpstreamError ? error : new UpstreamError(upstreamFailure(error), error));
    } else {
      // The app stalled or reset mid-body: nothing more can be said, the client's connection is cut.
      this.res.destroy();
      this.resolve({ status: this.status, headersSeconds: this.headersSeconds });
    }
  }

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    this.controller?.abort(new ClientClosedError());
  };
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The app did not answer in time; a connection it never accepts is that too (504, as nginx says). */
function upstreamFailure(error: unknown): 'timeout' | 'unavailable' {
  const code = (error as { code?: string }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT'
    ? 'timeout'
    : 'unavailable';
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = headers.connection;
  const tokens =
    named === undefined
      ? undefined
      : String(named)
          .toLowerCase()
          .split(',')
          .map((t) => t.trim());
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || RESPONSE_HOP_BY_HOP.has(name) || tokens?.includes(name)) continue;
    out[name] = value;
  }
  return out;
}
