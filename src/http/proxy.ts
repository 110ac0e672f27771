// The last step: the app receives the request with the sidecar's headers, and the client gets
// the app's answer, streamed. WebSocket upgrades are handed over here too.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Services } from '../decision/runtime.ts';
import { unmapIPv4 } from '../net/address.ts';
import { buildUpstreamHeaders } from '../upstream/headers.ts';
import type { Step } from './context.ts';

export function proxy(services: Services): Step {
  const draining = () => services.draining;
  return async (ctx) => {
    const { runtime, identity, facts, requestId, upgrade } = ctx.state;
    const { socket } = ctx.req;
    const peerAddress = unmapIPv4(socket.remoteAddress ?? '');
    const signer = runtime.identityToken;
    const forwarding = {
      trusted: runtime.trustedProxies.has(peerAddress),
      peerAddress,
      // The listener's own scheme: what an untrusted peer's X-Forwarded-Proto becomes.
      scheme: (socket as TLSSocket).encrypted ? ('https' as const) : ('http' as const),
      requestId,
      identityToken: identity && signer ? (signer.cached(identity) ?? (await signer.sign(identity))) : undefined,
    };
    const headers = buildUpstreamHeaders(
      ctx.req.rawHeaders,
      identity ?? null,
      forwarding,
      runtime.headerPolicy,
      upgrade !== undefined,
    );
    const target = facts?.target;
    const path = target ? target.forwardPath + target.query : '/';
    ctx.respond = false;
    if (upgrade) {
      ctx.res.detachSocket(upgrade.socket as Socket);
      ctx.req.url = path;
      const { status, fromApp } = await services.websockets.upgrade(
        runtime.upstream.origin,
        ctx.req,
        upgrade.socket,
        upgrade.head,
        headers,
        runtime.config.upstream.timeoutSeconds * 1000,
      );
      ctx.state.upgradeStatus = status;
      // 502/504 written by the sidecar for an app that never answered: no upstream status.
      if (fromApp) ctx.state.upstreamStatus = status;
      return;
    }
    const result = await runtime.upstream.forward(ctx.req, ctx.res, path, headers, draining);
    ctx.state.upstreamStatus = result.status;
    services.metrics.upstreamDuration.at(String(result.status)).observe(result.headersSeconds);
  };
}
