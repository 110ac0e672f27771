// The one try/catch of the pipeline. A SidecarError becomes its status, headers and a short
// JSON (or, for browsers, HTML) body; anything else is a bug: logged with its stack, answered
// with a bare 500 that says nothing about internals.
import { STATUS_CODES } from 'node:http';
import type { Services } from '../decision/runtime.ts';
import { ClientClosedError, SidecarError, UpstreamError } from '../errors.ts';
import type { Context, Step } from './context.ts';
import { errorPage, renderHtml } from './error-page.ts';

export function errorBoundary(services: Services): Step {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      render(ctx, toSidecarError(ctx, error, services));
    }
  };
}

function toSidecarError(ctx: Context, error: unknown, services: Services): SidecarError {
  if (error instanceof UpstreamError) {
    services.metrics.upstreamErrors.inc({ kind: error.status === 504 ? 'timeout' : 'unavailable' });
    const cause = error.cause as { code?: string; message?: string } | undefined;
    services.logger.warn(
      { reqId: ctx.state.requestId, errorCode: error.code, reason: cause?.code ?? cause?.message },
      error.message,
    );
  }
  if (error instanceof SidecarError) return error;
  services.logger.error({ reqId: ctx.state.requestId, err: error }, 'unexpected error');
  return new SidecarError('internal_error', 'internal error');
}

function render(ctx: Context, error: SidecarError): void {
  if (!(error instanceof ClientClosedError)) ctx.state.refusal = error.refusal;
  if (error instanceof ClientClosedError || ctx.res.headersSent || !ctx.writable) {
    // Nothing can be said any more: the client left, or the app's answer is half sent.
    ctx.res.statusCode = error.status;
    ctx.respond = false;
    if (ctx.res.headersSent) ctx.res.destroy();
    return;
  }
  ctx.respond = true;
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
  if (ctx.state.upgrade) ctx.set('Connection', 'close');
  ctx.set('Cache-Control', 'no-store');
  writeBody(ctx, error);
}

function writeBody(ctx: Context, error: SidecarError): void {
  const { runtime, requestId, facts, identity } = ctx.state;
  const here = facts?.target ? facts.target.forwardPath + facts.target.query : undefined;
  const page = errorPage(error, { runtime, here, identity });
  if (ctx.accepts('json', 'html') === 'html') {
    // The page is the sidecar's own: nothing on it may load or run, whatever a link holds.
    ctx.set('Content-Security-Policy', "default-src 'none'");
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'html';
    ctx.body = renderHtml(page, error.status, STATUS_CODES[error.status] ?? '', requestId);
    return;
  }
  ctx.body = { error: error.code, message: error.message, requestId, ...page };
}
