// Runs the pipeline on a request and writes the answer Koa-rendered steps left in ctx, as Koa's
// own callback does, less one thing: Koa's handleRequest hangs a pair of on-finished listeners
// on every response, to report a streamed body that fails. No body here is a stream (the proxy
// step writes the app's answer itself and sets ctx.respond = false), and those listeners were
// 4 % of the memory a proxied request allocated (measured with the sampling heap profiler).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import type { Context, RequestState } from './context.ts';

/** Koa's own middleware runner (koa-compose), which Koa keeps on the application; not in its types. */
type Composer = (middleware: Koa<RequestState>['middleware']) => (ctx: Context) => Promise<void>;

/** 204, 205 and 304 carry no body (RFC 9110 §15.3.5, §15.3.6, §15.4.5). */
const EMPTY = new Set([204, 205, 304]);

/**
 * The server's request listener. `closing` says a drain has begun: an answer written after that
 * says `Connection: close`, even for a request that arrived before.
 */
export function handler(
  app: Koa<RequestState>,
  closing: () => boolean,
): (req: IncomingMessage, res: ServerResponse) => void {
  const pipeline = (app as unknown as { compose: Composer }).compose(app.middleware);
  return (req, res) => {
    const ctx = app.createContext(req, res) as Context;
    res.statusCode = 404;
    pipeline(ctx).then(
      () => {
        if (closing()) res.shouldKeepAlive = false;
        respond(ctx);
      },
      (error: unknown) => ctx.onerror(error as Error),
    );
  };
}

/** Koa's respond(), for the bodies this pipeline makes: nothing, text, a Buffer, or JSON. */
function respond(ctx: Context): void {
  if (ctx.respond === false) return;
  const { res } = ctx;
  if (!ctx.writable) return void res.end();
  if (EMPTY.has(ctx.status)) {
    ctx.body = null;
    return void res.end();
  }
  if (ctx.method === 'HEAD') {
    const { length } = ctx.response;
    if (!res.headersSent && ctx.response.get('Content-Length') === '' && Number.isInteger(length)) ctx.length = length;
    return void res.end();
  }
  const { body } = ctx;
  if (body === null || body === undefined) {
    const text = ctx.message || String(ctx.status);
    if (!res.headersSent) {
      ctx.type = 'text';
      ctx.length = Buffer.byteLength(text);
    }
    return void res.end(text);
  }
  if (typeof body === 'string' || Buffer.isBuffer(body)) return void res.end(body);
  const json = JSON.stringify(body);
  if (!res.headersSent) ctx.length = Buffer.byteLength(json);
  res.end(json);
}
