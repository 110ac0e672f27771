// Forwarding to the app: plain HTTP over an undici keep-alive pool (measured at twice the
// requests per core of http-proxy with an agent), bodies streamed both ways. WebSocket upgrades
// go through http-proxy's ws(), see websocket.ts.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';
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
  private readonly timeoutMs: number;

  constructor(options: UpstreamOptions) {
    this.origin = new URL(options.url).origin;
    this.timeoutMs = options.timeoutSeconds * 1000;
    this.pool = new Pool(this.origin, {
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: { timeout: Math.min(this.timeoutMs, 10_000) },
    });
  }

  /**
   * Sends the request to the app and streams the answer to the client. Throws UpstreamError
   * (502/504) only while nothing has been sent to the client; after that a failure can only
   * cut the connection.
   */
  async forward(req: IncomingMessage, res: ServerResponse, path: string, headers: string[]): Promise<ForwardResult> {
    const abort = new AbortController();
    const onClientGone = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClientGone);
    const started = performance.now();
    const body = hasBody(req) ? req : null;
    // The request is allowed: a client that waits for "100 Continue" may send its body now.
    if (body) continueIfExpected(req, res);
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool.request({
        origin: this.origin,
        method: req.method as Dispatcher.HttpMethod,
        path,
        headers,
        body,
        signal: abort.signal,
      });
    } catch (error) {
      res.off('close', onClientGone);
      if (abort.signal.aborted) throw new ClientClosedError();
      throw new UpstreamError(isTimeout(error) ? 'timeout' : 'unavailable', error);
    }
    const headersSeconds = (performance.now() - started) / 1000;
    try {
      res.writeHead(response.statusCode, responseHeaders(response.headers));
    } catch (error) {
      response.body.destroy();
      throw new UpstreamError('unavailable', error);
    }
    await streamBody(response.body, res);
    res.off('close', onClientGone);
    return { status: response.statusCode, headersSeconds };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * Pipes the app's body to the client; resolves when the client has it all or is gone. If the
 * app stalls or resets mid-body nothing more can be said: the client's connection is cut.
 * (stream.pipeline would do, but builds and aborts an AbortController per call: measurably
 * slower on this path.)
 */
function streamBody(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const fail = () => {
      body.destroy();
      res.destroy();
      resolve();
    };
    body.once('error', fail);
    res.once('close', () => {
      if (!res.writableFinished) body.destroy();
      resolve();
    });
    body.pipe(res);
  });
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The app did not answer in time; a connection it never accepts is that too (504, as nginx says). */
function isTimeout(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
}

function responseHeaders(headers: Dispatcher.ResponseData['headers']): OutgoingHttpHeaders {
  const named = headers.connection;
  const tokens =
    named === undefined
      ? []
      : String(named)
          .toLowerCase()
          .split(',')
          .map((t) => t.trim());
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || RESPONSE_HOP_BY_HOP.has(name) || tokens.includes(name)) continue;
    out[name] = value;
  }
  return out;
}
