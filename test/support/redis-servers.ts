// Real Redis servers for tests that need one of their own: to pause (SIGSTOP), stop and bring
// back, or to run a Sentinel or a Cluster. Each listens on free ports on 127.0.0.1 and keeps
// nothing on disk but its own temporary folder. The shared Redis on 6379 is never touched.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { track } from './children.ts';
import { freePort } from './free-port.ts';
import { tempDir } from './sidecar.ts';
import { eventually } from './wait.ts';

const run = promisify(execFile);

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  pause(): void;
  resume(): void;
  /** Stops the server (SIGKILL: as abrupt as a crash). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

async function answers(port: number, command = 'PING', expect = 'PONG', cliArgs: string[] = []): Promise<boolean> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...cliArgs, ...command.split(' ')]);
  // A server with requirepass answers, if only to say that it wants a password.
  return stdout.includes(expect) || stdout.includes('NOAUTH');
}

function spawnQuiet(command: string, args: string[]): ChildProcess {
  const child = track(spawn(command, args, { stdio: 'ignore' }));
  child.on('error', () => {});
  return child;
}

function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
}

/** A redis-server of our own; with `tls`, it speaks only TLS (rediss://) with that certificate. */
export async function startRedisServer(
  extraArgs: string[] = [],
  port?: number,
  tls?: { cert: string; key: string },
): Promise<RedisProcess> {
  const chosen = port ?? (await freePort());
  const dir = tempDir('auth-sidecar-redis-');
  const listenArgs = tls
    ? ['--port', '0', '--tls-port', String(chosen), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key]
    : ['--port', String(chosen)];
  if (tls) listenArgs.push('--tls-ca-cert-file', tls.cert, '--tls-auth-clients', 'no');
  const cliArgs = tls ? ['--tls', '--cacert', tls.cert] : [];
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawnQuiet('redis-server', [
      ...listenArgs,
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extraArgs,
    ]);
    await eventually(() => answers(chosen, 'PING', 'PONG', cliArgs), `redis-server on ${chosen}`);
  };
  await start();
  stopAll.push(() => stopChild(child));
  return {
    port: chosen,
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${chosen}`,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop: () => stopChild(child),
    start,
  };
}

export interface SentinelSetup {
  readonly sentinels: string[];
  readonly name: string;
  readonly master: RedisProcess;
  stop(): Promise<void>;
}

/** A master and one Sentinel (redis-sentinel, Debian's package) that monitors it. */
export async function startSentinel(name = 'sessions'): Promise<SentinelSetup> {
  const master = await startRedisServer();
  const port = await freePort();
  const dir = tempDir('auth-sidecar-sentinel-');
  const file = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file: it must be its own, writable.
  writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 5000`,
      '',
    ].join('\n'),
  );
  const child = spawnQuiet('redis-sentinel', [file]);
  await eventually(() => answers(port, `SENTINEL get-master-addr-by-name ${name}`, String(master.port)), 'sentinel');
  const stop = async () => {
    await stopChild(child);
    await master.stop();
  };
  stopAll.push(stop);
  return { sentinels: [`127.0.0.1:${port}`], name, master, stop };
}

export interface ClusterSetup {
  readonly nodes: string[];
  stop(): Promise<void>;
}

/** Three masters, every slot assigned: the smallest Redis Cluster (over TLS when given a cert). */
export async function startCluster(tls?: { cert: string; key: string }): Promise<ClusterSetup> {
  const servers: RedisProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const busPort = await freePort();
    const dir = tempDir('auth-sidecar-cluster-');
    const args = ['--cluster-enabled', 'yes', '--cluster-port', String(busPort)];
    args.push('--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000');
    if (tls) args.push('--tls-cluster', 'yes');
    servers.push(await startRedisServer(args, undefined, tls));
  }
  const cliArgs = tls ? ['--tls', '--cacert', tls.cert] : [];
  const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
  await run('redis-cli', [...cliArgs, '--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
  for (const server of servers) {
    await eventually(() => answers(server.port, 'CLUSTER INFO', 'cluster_state:ok', cliArgs), 'the cluster');
  }
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  return { nodes: tls ? nodes.map((n) => `rediss://${n}`) : nodes, stop };
}

const stopAll: (() => Promise<void>)[] = [];

/** Stops every server this file started (call it in afterAll). */
export async function stopRedisServers(): Promise<void> {
  await Promise.all(stopAll.splice(0).map((stop) => stop()));
}

/** A plain client for looking at what a store wrote. */
export function rawClient(url = 'redis://127.0.0.1:6379'): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
}
