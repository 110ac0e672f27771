// SIGTERM: stop accepting, let the requests in flight finish within the timeout, then cut the
// rest. Resolves the exit code: 0, or 1 if connections had to be cut.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Services } from '../decision/runtime.ts';

export async function drain(
  server: Server,
  connections: Set<Socket>,
  services: Services,
  timeoutSeconds: number,
): Promise<number> {
  services.draining = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections go as soon as they are idle; responses in flight say Connection: close.
  const sweep = () => {
    server.closeIdleConnections();
    for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
  };
  const sweeper = setInterval(sweep, 100);
  sweep();
  const timedOut = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutSeconds * 1000).unref()),
  ]);
  clearInterval(sweeper);
  if (!timedOut) return 0;
  services.logger.warn({ timeoutSeconds }, 'shutdown timeout: cutting the remaining connections');
  server.closeAllConnections();
  services.websockets.closeAll();
  await closed;
  return 1;
}
