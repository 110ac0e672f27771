// The app stand-in for benchmarks: a minimal HTTP server in its own process, so that the
// sidecar's figures are not mixed with the upstream's work.
import { createServer } from 'node:http';

const body = JSON.stringify({ ok: true, app: 'bench-upstream' });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : ''}\n`);
});
