// The soak: the built sidecar (dist/) under a steady mixed load for SOAK_MINUTES (default 10),
// printing once a minute its resident memory, open file descriptors and requests per second,
// then whether memory grew by less than 10 % between minute 2 and the last, and whether file
// descriptors leaked. The load, at SOAK_CONNECTIONS (default 32) connections in all:
// - bearer tokens seen before (cache hits) and never seen before (a signature check each);
// - basic credentials (bcrypt, cached after the first);
// - uploads the client abandons half-way (the sidecar must let go of both sockets);
// - a few WebSocket connections that stay open and echo a message every second.
//   SOAK_MINUTES=2 npm run soak        (a short run, to try it)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { WebSocket, WebSocketServer } from 'ws';
import { stringify } from 'yaml';
import { hashNewPassword } from '../src/authn/basic/password-hash.ts';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 32);
const FRESH_TOKENS = 200_000;
const WEBSOCKETS = 4;
const root = new URL('..', import.meta.url).pathname;
const ISSUER = 'https://soak.invalid';
const AUDIENCE = 'soak';

/** The app: answers every request, echoes WebSocket messages. */
async function startUpstream(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok\n'));
    req.on('error', () => res.destroy());
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      server.close();
    },
  };
}

async function tokenMaker(dir: string): Promise<(sub: string) => Promise<string>> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'soak', alg: 'ES256' };
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  const exp = Math.floor(Date.now() / 1000) + MINUTES * 60 + 3600;
  return (sub) =>
    new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub, exp })
      .setProtectedHeader({ alg: 'ES256', kid: 'soak' })
      .sign(privateKey);
}

function startSidecar(configFile: string): ChildProcess {
  const pinned = process.env.SOAK_PIN === '0' ? [] : ['taskset', '-c', '1'];
  const [command, ...args] = [...pinned, process.execPath, 'dist/cli.js', 'serve', '--config', configFile];
  return spawn(command as string, args, {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

async function waitForReady(adminUrl: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${adminUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the sidecar did not become ready');
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** An upload that stops half-way and is then dropped by the client. */
function abortedUpload(port: number, token: string): void {
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/upload',
    headers: { authorization: `Bearer ${token}`, 'content-length': String(1 << 20) },
  });
  req.on('error', () => {});
  req.write(Buffer.alloc(64 * 1024, 97));
  setTimeout(() => req.destroy(), 50);
}

/** WebSockets that stay open and send a message every second; reopened if the sidecar drops one. */
function keepWebSockets(url: string, token: string): () => void {
  let stopped = false;
  const open = () => {
    if (stopped) return;
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const timer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('ping'), 1000);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      setTimeout(open, 200);
    });
  };
  for (let i = 0; i < WEBSOCKETS; i++) open();
  return () => {
    stopped = true;
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sidecar-soak-'));
  const sign = await tokenMaker(dir);
  const hash = await hashNewPassword(Buffer.from('soak-password'));
  writeFileSync(join(dir, 'htpasswd'), `carol:${hash}\n`);
  const upstream = await startUpstream();
  const port = 19160;
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    stringify({
      listen: `127.0.0.1:${port}`,
      admin: { listen: `127.0.0.1:${port + 1}` },
      upstream: { url: upstream.url },
      jwt: { issuer: ISSUER, audience: AUDIENCE, keysFile: join(dir, 'jwks.json'), algorithms: ['ES256'] },
      basic: { htpasswdFile: join(dir, 'htpasswd') },
    }),
  );
  const sidecar = startSidecar(configFile);
  await waitForReady(`http://127.0.0.1:${port + 1}`);
  const pid = sidecar.pid as number;
  const seen = await Promise.all(Array.from({ length: 100 }, (_, i) => sign(`seen-${i}`)));
  const basic = `Basic ${Buffer.from('carol:soak-password').toString('base64')}`;
  // Fresh tokens are signed ahead, in batches, so that signing does not limit the load.
  const fresh: string[] = [];
  let freshCount = 0;
  const refill = async () => {
    while (fresh.length < 5000 && freshCount < FRESH_TOKENS) {
      fresh.push(...(await Promise.all(Array.from({ length: 500 }, () => sign(`fresh-${freshCount++}`)))));
    }
  };
  await refill();
  const stopSockets = keepWebSockets(`ws://127.0.0.1:${port}/ws`, seen[0] as string);
  const uploads = setInterval(() => abortedUpload(port, seen[1] as string), 100);

  let served = 0;
  let errors = 0;
  // With a callback autocannon hands back the running instance (to count answers and stop it).
  const instance = autocannon(
    {
      url: `http://127.0.0.1:${port}`,
      connections: CONNECTIONS,
      duration: MINUTES * 60,
      requests: [
        {
          setupRequest: (req) => {
            const pick = served++ % 10;
            const authorization =
              pick < 6 ? `Bearer ${seen[served % seen.length]}` : pick < 8 ? `Bearer ${fresh.pop() ?? seen[0]}` : basic;
            if (fresh.length < 1000) void refill();
            return { ...req, path: `/soak/${pick}`, headers: { ...req.headers, authorization } };
          },
        },
      ],
    },
    () => {},
  );
  instance.on('response', (_client: unknown, status: number) => {
    if (status !== 200) errors++;
  });

  const samples: { minute: number; rss: number; fds: number; rps: number }[] = [];
  let last = 0;
  console.log('minute  rss MB  fds  req/s  non-200');
  await new Promise<void>((resolve) => {
    let minute = 0;
    const tick = setInterval(() => {
      minute++;
      const sample = { minute, rss: rssMb(pid), fds: fds(pid), rps: Math.round((served - last) / 60) };
      last = served;
      samples.push(sample);
      console.log(
        `${String(minute).padStart(6)}  ${sample.rss.toFixed(1).padStart(6)}  ${String(sample.fds).padStart(3)}  ${String(sample.rps).padStart(5)}  ${errors}`,
      );
      if (minute >= MINUTES) {
        clearInterval(tick);
        resolve();
      }
    }, 60_000);
  });
  instance.stop();
  clearInterval(uploads);
  stopSockets();
  const first = samples.find((s) => s.minute === Math.min(2, MINUTES)) ?? samples[0];
  const end = samples[samples.length - 1];
  if (first && end) {
    const growth = (100 * (end.rss - first.rss)) / first.rss;
    console.log(
      `RSS from minute ${first.minute} to ${end.minute}: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} % (${growth < 10 ? 'under' : 'OVER'} 10 %); ` +
        `file descriptors ${first.fds} → ${end.fds} (${end.fds <= first.fds + WEBSOCKETS ? 'no leak' : 'LEAK?'})`,
    );
  }
  sidecar.kill('SIGTERM');
  upstream.close();
}

await main();
