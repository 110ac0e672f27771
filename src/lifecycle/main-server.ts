// The main listener: node:http, or node:https with `tls`, with what Koa does not do for us.
// Upgrades run through the same pipeline, with a response bound to the socket; CONNECT and
// malformed HTTP get a plain answer instead of a dropped connection.
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { parseListen } from '../config/schema.ts';
import { UpgradeResponse } from '../http/context.ts';
import { retireConnection } from '../net/client-certificate.ts';
import { emptyAnswer, isTrack } from '../net/raw-http.ts';
import { type ListenerTls, serverOptions } from '../tls/listener-tls.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const HTTP_OPTIONS = { requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 };

/**
 * With `tls`, the listener speaks HTTPS only (TLS 1.2 and 1.3) and, with a client CA, asks for
 * client certificates. node:https is node:http over TLS: every event below works the same.
 */
export function createMainServer(handler: Handler, tls?: ListenerTls): Server {
  const server = tls
    ? createHttpsServer({ ...HTTP_OPTIONS, ...serverOptions(tls) }, handler)
    : createServer(HTTP_OPTIONS, handler);
  // A connection's client certificate is read once (net/client-certificate.ts), so it must not
  // change under it: TLS 1.2 renegotiation, which could present another, is refused.
  if (tls) server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  // A client may half-close its side once the request is sent (`nc -N`, Go's CloseWrite, some
  // health checkers). By default Node then aborts the request in flight and the client gets no
  // answer; with this set it answers, then closes. A long-standing http.Server property that
  // @types/node does not declare (test/proxy/forwarding.test.ts guards it).
  Object.assign(server, { httpAllowHalfOpen: true });
  // Expect: 100-continue: decide first, then invite the body (net/raw-http.ts continueIfExpected).
  server.on('checkContinue', handler);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    // Anything but a WebSocket (h2c, say) is answered like any request, on the raw socket.
    const websocket = req.headers.upgrade?.toLowerCase() === 'websocket';
    const res = websocket ? new UpgradeResponse(req, { socket, head }) : new ServerResponse(req);
    handler(req, bindToSocket(res, socket));
  });
  // A reverse proxy is no tunnel. Without a listener Node would drop the connection without
  // a word; a client that asks for one gets a plain 405 instead.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end(emptyAnswer(405));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Malformed HTTP from the client: a 4xx (431 for oversized headers), never a crash.
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.end(emptyAnswer(isTrack(error) ? 405 : status));
  });
  return server;
}

/**
 * Serves new connections with the TLS settings of a reload (a rotated certificate, new client
 * CAs); open connections keep theirs and finish undisturbed. When the client CAs changed, the
 * connections they verified are retired (net/client-certificate.ts): idle ones close now, busy
 * ones after their response, so a CA taken out of clientCaFile vouches for no one any more.
 * Nothing to do for a plain listener: HTTPS on or off needs a restart (the reloader says so).
 */
export function renewTls(
  server: Server,
  connections: ReadonlySet<Socket>,
  previous: ListenerTls | undefined,
  next: ListenerTls | undefined,
): void {
  if (next === undefined || next === previous || !('setSecureContext' in server)) return;
  (server as HttpsServer).setSecureContext(next.context);
  if (previous?.clientCaFingerprint === next.clientCaFingerprint) return;
  for (const socket of connections) {
    if (!(socket as TLSSocket).encrypted) continue;
    retireConnection(socket as TLSSocket);
    if (socket.bytesRead === 0) socket.destroy();
  }
  server.closeIdleConnections();
}

/** A refusal is then a complete HTTP answer on the raw socket; http/proxy.ts detaches it when allowed. */
function bindToSocket<T extends ServerResponse>(res: T, socket: Duplex): T {
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => socket.end());
  return res;
}

/** Listens on `host:port`; resolves the URL it listens on (https: for a TLS listener). */
export function listen(server: Server, address: string): Promise<string> {
  const { host, port } = parseListen(address) ?? { host: '0.0.0.0', port: 0 };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve(`${'setSecureContext' in server ? 'https' : 'http'}://${shown}:${bound.port}`);
    });
  });
}

/**
 * The open connections, so that a drain can close those that never sent a request (a load
 * balancer's or browser's pre-opened connection): Node's closeIdleConnections() leaves them
 * open, and a drain would wait for them until shutdownTimeoutSeconds and exit 1 with no
 * request in flight. (A 'data' listener would not do: the HTTP parser reads the socket itself.)
 * On a TLS listener the decrypted side counts too: its bytesRead stays 0 after a handshake
 * until a request comes, while the raw socket's counts the handshake.
 */
export function openConnections(server: Server): Set<Socket> {
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };
  server.on('connection', track);
  server.on('secureConnection', track);
  return open;
}
