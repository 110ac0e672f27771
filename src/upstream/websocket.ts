// WebSocket upgrades, after the same authentication and authorization as any request, are
// handed to http-proxy's ws(), which pipes the two sockets once the app accepts. http-proxy is
// loaded with the first upgrade: a sidecar whose app has no WebSockets never loads it.
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type Server from 'http-proxy';
import { emptyAnswer } from '../net/raw-http.ts';

/** What the client got: the status, and whether the app said it (not the sidecar for it). */
export interface UpgradeResult {
  readonly status: number;
  readonly fromApp: boolean;
}

type Settle = (result: UpgradeResult) => void;

interface Pending {
  readonly settle: Settle;
  readonly socket: Duplex;
  readonly timeoutMs: number;
}

export class WebSocketProxy {
  private proxy: Promise<Server> | undefined;
  /** The pending upgrades, settled with the app's answer (101, or its refusal). */
  private readonly pending = new WeakMap<IncomingMessage, Pending>();
  /** Upgraded connections, so that a drain can close them. */
  readonly sockets = new Set<Duplex>();

  private createProxy(): Promise<Server> {
    this.proxy ??= import('http-proxy').then(({ default: httpProxy }) => {
      const proxy = httpProxy.createProxyServer({ ws: true, xfwd: false, changeOrigin: false });
      // Without a listener an error event would crash the process; each call has its callback.
      proxy.on('error', () => {});
      proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage) => {
        this.limitWait(proxyReq, req);
        proxyReq.once('response', (response: IncomingMessage) => this.settle(req, response.statusCode ?? 502, true));
        proxyReq.once('upgrade', () => this.settle(req, 101, true));
      });
      return proxy;
    });
    return this.proxy;
  }

  /**
   * Proxies the upgrade with exactly these headers. Resolves with the status the client got:
   * 101 when the app switched protocols, the app's own answer when it refused, 502 when it
   * could not be reached, 504 when it did not answer within timeoutMs.
   */
  async upgrade(
    target: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    headers: string[],
    timeoutMs: number,
  ): Promise<UpgradeResult> {
    req.headers = toHeaderObject(headers);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const proxy = await this.createProxy();
    return new Promise((resolve) => {
      this.pending.set(req, { settle: resolve, socket, timeoutMs });
      proxy.ws(req, socket, head, { target }, () => {
        this.answerForApp(req, socket, 502);
        socket.destroy();
      });
    });
  }

  closeAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /**
   * http-proxy's ws() has no timeout: an app that never accepts the connection or never
   * answers the upgrade would hold the client forever. As for any request, no answer within
   * upstream.timeoutSeconds is a 504.
   */
  private limitWait(proxyReq: ClientRequest, req: IncomingMessage): void {
    const pending = this.pending.get(req);
    if (!pending) return;
    const timer = setTimeout(() => {
      this.answerForApp(req, pending.socket, 504);
      proxyReq.destroy();
    }, pending.timeoutMs);
    const clear = () => clearTimeout(timer);
    proxyReq.once('response', clear);
    proxyReq.once('upgrade', clear);
    proxyReq.once('close', clear);
  }

  /** The sidecar's own answer (502, 504) for an app that did not give one, unless one was given. */
  private answerForApp(req: IncomingMessage, socket: Duplex, status: number): void {
    if (this.settle(req, status, false) && socket.writable) socket.write(emptyAnswer(status));
  }

  /** True when this call settled the upgrade (nothing had been answered yet). */
  private settle(req: IncomingMessage, status: number, fromApp: boolean): boolean {
    const pending = this.pending.get(req);
    if (!pending) return false;
    this.pending.delete(req);
    pending.settle({ status, fromApp });
    return true;
  }
}

function toHeaderObject(flat: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = (flat[i] as string).toLowerCase();
    const value = flat[i + 1] as string;
    const existing = headers[name];
    headers[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return headers;
}
