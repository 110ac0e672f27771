// Requests written by hand, for what fetch refuses to send (duplicate or malformed headers).
import { connect } from 'node:net';

/** Sends `request` verbatim and resolves everything the server answered until it closed. */
export function rawRequest(base: string, request: string | Buffer, timeoutMs = 5000): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let data = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(data);
    });
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
    });
    socket.on('end', () => resolve(data));
    socket.on('error', (error) => (data ? resolve(data) : reject(error)));
  });
}

/** The status line and lower-cased headers of a raw HTTP answer. */
export function parseRawResponse(raw: string): { status: number; headers: Map<string, string[]>; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = raw.slice(0, end === -1 ? raw.length : end).split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const at = line.indexOf(':');
    const name = line.slice(0, at).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(at + 1).trim()]);
  }
  const body = end === -1 ? '' : raw.slice(end + 4);
  const chunked = headers.get('transfer-encoding')?.includes('chunked') ?? false;
  return { status: Number(statusLine.split(' ')[1]), headers, body: chunked ? dechunk(body) : body };
}

function dechunk(body: string): string {
  let out = '';
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at);
    const size = Number.parseInt(body.slice(at, lineEnd), 16);
    if (!size) break;
    out += body.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
  return out;
}

/**
 * Sends one request line and headers exactly as given: a path with control characters, a
 * backslash or an invalid encoding, that HTTP client libraries would refuse to send.
 */
export async function sendRaw(base: string, method: string, target: string, headers: Record<string, string> = {}) {
  const { host } = new URL(base);
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const answer = await rawRequest(base, Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
  if (!answer.includes('\r\n\r\n')) throw new Error(`no complete response to ${JSON.stringify(target)}`);
  return parseRawResponse(answer);
}

/** A connection written by hand and read as the answer arrives: to see what comes before a body. */
export interface RawConnection {
  write(data: string | Buffer): void;
  /** Everything received so far, as soon as it includes `text`; rejects if the server closes first. */
  until(text: string): Promise<string>;
  /** Everything received, once the server has closed the connection. */
  closed: Promise<string>;
}

export function openRaw(base: string): Promise<RawConnection> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    const waiters = new Set<() => void>();
    const closed = new Promise<string>((done) => socket.on('close', () => done(data)));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      for (const waiter of waiters) waiter();
    });
    socket.once('error', reject);
    socket.once('connect', () =>
      resolve({
        write: (chunk) => socket.write(chunk),
        closed,
        until: (text) =>
          new Promise((found, missing) => {
            const check = () => {
              if (!data.includes(text)) return;
              waiters.delete(check);
              found(data);
            };
            waiters.add(check);
            check();
            void closed.then(() => missing(new Error(`closed before ${JSON.stringify(text)}: ${data}`)));
          }),
      }),
    );
  });
}
