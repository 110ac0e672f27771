// TLS clients for tests: requests with or without a client certificate, and bare handshakes
// that report what the server presented or why it refused.
import { type ConnectionOptions, connect } from 'node:tls';
import { Agent, fetch, type RequestInit } from 'undici';

/** What the client trusts and presents. */
export interface ClientTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface TlsAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** One request on a connection of its own, read whole. */
export async function requestTls(url: string, tls: ClientTls, init: RequestInit = {}): Promise<TlsAnswer> {
  const dispatcher = new Agent({ connect: { ...tls } });
  try {
    const response = await fetch(url, { redirect: 'manual', ...init, dispatcher });
    return { status: response.status, headers: response.headers as Headers, body: await response.text() };
  } finally {
    await dispatcher.close();
  }
}

export interface Handshake {
  /** The server certificate's SHA-256 fingerprint. */
  readonly fingerprint256: string;
  readonly protocol: string | null;
}

/** Opens a TLS connection to `url`'s host and port and closes it; rejects when the handshake fails. */
export function handshake(url: string, options: ConnectionOptions = {}): Promise<Handshake> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ...options }, () => {
      const result = { fingerprint256: socket.getPeerCertificate().fingerprint256, protocol: socket.getProtocol() };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

/**
 * Sends a request on a connection of its own and resolves the TLS error it ends with (in TLS 1.3
 * a server refuses a client certificate after the client's side of the handshake is done), or
 * "answered" when the server answered.
 */
export function tlsRefusal(url: string, options: ConnectionOptions): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), ...options }, () => {
      socket.write(`GET / HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
    });
    socket.once('data', () => {
      socket.destroy();
      resolve('answered');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('close', () => resolve('closed without an error'));
  });
}
