// HTTP at the byte level, for the places Koa does not reach: answers written straight to a
// socket (malformed requests, CONNECT, a WebSocket upgrade the app never took), the interim
// "100 Continue", and the raw header list, where repeated fields are still visible.
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';

/** A complete answer without a body, that closes the connection. */
export function emptyAnswer(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
}

/** The expectation as Node's own server recognises it. */
const CONTINUE_EXPECTED = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * Sends "100 Continue" to a client that waits for it before sending its body. The main server
 * (lifecycle/main-server.ts) leaves it to the pipeline, so that a request that will be refused
 * gets its 401 or 403 without first being invited to send a body that would be thrown away:
 * only the steps that really read the body (forwarding to the app, back-channel logout) call it.
 */
export function continueIfExpected(req: IncomingMessage, res: ServerResponse): void {
  if (req.httpVersion === '1.1' && CONTINUE_EXPECTED.test(req.headers.expect ?? '')) res.writeContinue();
}

/**
 * Whether a request Node's parser refused is a TRACK (IIS's TRACE, which http/read-request.ts
 * refuses 405): llhttp knows no such method, so it arrives as a parse error, not as a request.
 */
export function isTrack(error: NodeJS.ErrnoException & { rawPacket?: Buffer }): boolean {
  return error.code === 'HPE_INVALID_METHOD' && error.rawPacket?.subarray(0, 6).toString('latin1') === 'TRACK ';
}

/**
 * How many times a field occurs in `rawHeaders` (name in lower case). Node keeps only the first
 * Host or Authorization in req.headers; this finds a second one without building
 * req.headersDistinct, which copies every header of every request.
 */
export function headerCount(rawHeaders: readonly string[], lowerName: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) count++;
  }
  return count;
}

/** Every line of a field in `rawHeaders` (name in lower case), unsplit: a URI may hold a comma. */
export function headerLines(rawHeaders: readonly string[], lowerName: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) lines.push(rawHeaders[i + 1] as string);
  }
  return lines;
}
