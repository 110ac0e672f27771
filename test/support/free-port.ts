// A port that was free a moment ago: for servers that cannot listen on port 0 and report it
// (nginx, Caddy, Redis), for a dependency that is down (nothing listens there), or for a
// listener a test must name in advance. The tiny race with other processes is accepted.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
