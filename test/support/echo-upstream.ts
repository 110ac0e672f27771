// A real upstream for tests: it reports what it received, and can be slow, big, broken, or a
// WebSocket echo.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface Echo {
  method: string;
  url: string;
  /** Header name (lower case) → every value received, in order. */
  headers: Record<string, string[]>;
  /** Header names exactly as sent. */
  rawNames: string[];
  bodyBytes: number;
  bodySha256: string;
}

export interface EchoUpstream {
  url: string;
  port: number;
  server: Server;
  /** Requests received, newest last (each once its body has been read). */
  received: Echo[];
  /** How many requests for this target (path and query, as sent) have arrived, answered or not. */
  arrived(target: string): number;
  close(): Promise<void>;
}

function headersOf(req: IncomingMessage): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    out[name] = [...(out[name] ?? []), req.rawHeaders[i + 1] as string];
  }
  return out;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const received: Echo[] = [];
  const arrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    arrivals.set(req.url ?? '', (arrivals.get(req.url ?? '') ?? 0) + 1);
    // A client that goes away mid-request is part of what the tests do; not an error here.
    handle(req, res).catch(() => res.destroy());
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const hash = createHash('sha256');
    let bodyBytes = 0;
    if (url.pathname === '/slow-headers') {
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get('ms') ?? 5000)));
    }
    for await (const chunk of req) {
      bodyBytes += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    const echo: Echo = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: headersOf(req),
      rawNames: req.rawHeaders.filter((_, i) => i % 2 === 0),
      bodyBytes,
      bodySha256: hash.digest('hex'),
    };
    received.push(echo);
    if (url.pathname === '/download') {
      const total = Number(url.searchParams.get('bytes') ?? 0);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (url.pathname === '/slow-body') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      return; // never ends
    }
    if (url.pathname === '/reset') {
      req.socket.destroy();
      return;
    }
    if (url.pathname.startsWith('/status/')) {
      res.writeHead(Number(url.pathname.slice(8)), { 'content-type': 'text/plain' });
      return res.end('status');
    }
    if (url.pathname === '/hop-by-hop') {
      res.writeHead(200, {
        connection: 'close, x-secret-hop',
        'x-secret-hop': '1',
        'keep-alive': 'timeout=5',
        'x-kept': 'yes',
      });
      return res.end('ok');
    }
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'] });
    res.end(JSON.stringify(echo));
  };
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: headersOf(req),
      rawNames: [],
      bodyBytes: 0,
      bodySha256: '',
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    received,
    arrived: (target) => arrivals.get(target) ?? 0,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the upstream received, as it reported it in its answer. */
export async function echoOf(res: Response): Promise<Echo> {
  return (await res.json()) as Echo;
}

/** Opens a WebSocket, sends "ping" and resolves what comes back first (the echo's "ping"). */
export async function pingOverWebSocket(url: string, headers: Record<string, string>): Promise<string> {
  const socket = new WebSocket(url, { headers });
  try {
    return await new Promise<string>((resolve, reject) => {
      socket.on('open', () => socket.send('ping'));
      socket.on('message', (data) => resolve(data.toString()));
      socket.on('error', reject);
    });
  } finally {
    socket.close();
  }
}
