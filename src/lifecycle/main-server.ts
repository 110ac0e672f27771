// The main listener: plain node:http, with what Koa does not do for us. Upgrades run through
// the same pipeline, with a response bound to the socket; CONNECT and malformed HTTP get a
// plain answer instead of a dropped connection.
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { parseListen } from '../config/schema.ts';
import { UpgradeResponse } from '../http/context.ts';
import { emptyAnswer, isTrack } from '../net/raw-http.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function createMainServer(handler: Handler): Server {
  const server = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 }, handler);
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

/** A refusal is then a complete HTTP answer on the raw socket; http/proxy.ts detaches it when allowed. */
function bindToSocket<T extends ServerResponse>(res: T, socket: Duplex): T {
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => socket.end());
  return res;
}

/** Listens on `host:port`; resolves the URL it listens on. */
export function listen(server: Server, address: string): Promise<string> {
  const { host, port } = parseListen(address) ?? { host: '0.0.0.0', port: 0 };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve(`http://${shown}:${bound.port}`);
    });
  });
}

/**
 * The open connections, so that a drain can close those that never sent a byte (a load
 * balancer's or browser's pre-opened connection): Node's closeIdleConnections() leaves them
 * open, and a drain would wait for them until shutdownTimeoutSeconds and exit 1 with no
 * request in flight. (A 'data' listener would not do: the HTTP parser reads the socket itself.)
 */
export function openConnections(server: Server): Set<Socket> {
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return open;
}
