// The running sidecar: load the config, build the parts, listen, reload on change, drain on
// shutdown. cli.ts wires it to signals; tests start it in-process the same way.
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DestinationStream } from 'pino';
import { createApp } from './app.ts';
import { type LoadedConfig, loadConfig } from './config/load.ts';
import { type Config, parseListen } from './config/schema.ts';
import { FileWatcher } from './config/watch.ts';
import { ConfigError } from './errors.ts';
import { createAdminServer, type ReadinessCheck, upstreamCheck } from './http/admin.ts';
import { upgrades } from './http/context.ts';
import { emptyAnswer } from './http/raw-http.ts';
import { createLogger } from './observability/logger.ts';
import { createMetrics } from './observability/metrics.ts';
import { buildRuntime, KeySetRegistry, listenChanged, type Runtime, retireRuntime, type Services } from './runtime.ts';
import { WebSocketProxy } from './upstream/websocket.ts';

export interface SidecarOptions {
  configFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Where log lines go (stdout by default). */
  logDestination?: DestinationStream;
  /** How often the config's files are checked for changes. */
  watchIntervalMs?: number;
}

export interface Sidecar {
  readonly url: string;
  readonly adminUrl: string;
  readonly services: Services;
  current(): Runtime;
  /** Re-reads the config; resolves false (and keeps the running one) when it is invalid. */
  reload(): Promise<boolean>;
  /** Drains and stops; resolves the exit code: 0, or 1 if connections had to be cut. */
  shutdown(): Promise<number>;
}

/** Starts the sidecar; throws ConfigError when the config is invalid. */
export async function startSidecar(options: SidecarOptions = {}): Promise<Sidecar> {
  const env = options.env ?? process.env;
  const loaded = loadConfig({ file: options.configFile, env });
  const logger = createLogger({
    level: loaded.config.logLevel,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const metrics = createMetrics();
  const services: Services = {
    logger,
    metrics,
    keySets: new KeySetRegistry(logger, metrics),
    websockets: new WebSocketProxy(),
    draining: false,
  };
  let runtime = buildRuntime(loaded.config, services);
  runtime.login?.client.prefetch();
  const current = () => runtime;

  const app = createApp(current, services);
  const server = createMainServer(app.callback());
  const connections = openConnections(server);
  const checks = new Map<string, ReadinessCheck>([
    ['config', () => Promise.resolve()],
    ['sessionStore', () => runtime.store.ping()],
    ['upstream', upstreamCheck(current)],
  ]);
  const admin = createAdminServer(checks, services);
  const { config } = loaded;
  const url = await listen(server, config.listen);
  let adminUrl: string;
  try {
    adminUrl = await listen(admin, config.admin.listen);
  } catch (error) {
    server.close();
    throw error;
  }
  logger.info({ listen: url, admin: adminUrl, upstream: runtime.upstream.origin }, 'auth-sidecar started');

  const reloader = new Reloader(
    options,
    env,
    services,
    () => runtime,
    (next) => {
      const old = runtime;
      runtime = next;
      next.login?.client.prefetch();
      void retireRuntime(old, next, services);
    },
  );
  const watcher = new FileWatcher(loaded.files, () => void reloader.reload('file change'), options.watchIntervalMs);
  reloader.onApplied = (files) => watcher.setFiles(files);

  return {
    url,
    adminUrl,
    services,
    current,
    reload: () => reloader.reload('request'),
    shutdown: async () => {
      watcher.close();
      const code = await drain(server, connections, services, runtime.config.shutdownTimeoutSeconds);
      await retireRuntime(runtime, undefined, services);
      await new Promise<void>((resolve) => admin.close(() => resolve()));
      admin.closeAllConnections();
      logger.info({ exitCode: code }, 'auth-sidecar stopped');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      return code;
    },
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The main listener. Upgrades run through the same pipeline, with a response bound to the socket. */
function createMainServer(handler: Handler): Server {
  const server = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 }, handler);
  // A client may half-close its side once the request is sent (`nc -N`, Go's CloseWrite, some
  // health checkers). By default Node then aborts the request in flight and the client gets no
  // answer; with this set it answers, then closes. A long-standing http.Server property that
  // @types/node does not declare (test/proxy/forwarding.test.ts guards it).
  Object.assign(server, { httpAllowHalfOpen: true });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A ServerResponse on the raw socket lets a refusal be a complete HTTP answer (401 with its
    // challenges); proxy.ts detaches it when the upgrade is allowed.
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end());
    socket.on('error', () => socket.destroy());
    if (req.headers.upgrade?.toLowerCase() === 'websocket') upgrades.set(req, { socket, head });
    handler(req, res);
  });
  // A reverse proxy is no tunnel. Without a listener Node would drop the connection without
  // a word; a client that asks for one gets a plain 405 instead.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    socket.end(emptyAnswer(405));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Malformed HTTP from the client: a 4xx (431 for oversized headers), never a crash.
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.end(emptyAnswer(status));
  });
  return server;
}

function listen(server: Server, address: string): Promise<string> {
  const { host, port } = parseListen(address) ?? { host: '0.0.0.0', port: 0 };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve(`http://${shown}:${bound.port}`);
    });
  });
}

/**
 * The open connections, so that a drain can close those that never sent a byte (a load
 * balancer's or browser's pre-opened connection): Node's closeIdleConnections() leaves them
 * open, and a drain would wait for them until shutdownTimeoutSeconds and exit 1 with no
 * request in flight. (A 'data' listener would not do: the HTTP parser reads the socket itself.)
 */
function openConnections(server: Server): Set<Socket> {
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return open;
}

/** Stops accepting, lets in-flight requests finish within the timeout, then cuts the rest. */
async function drain(
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

/** Serializes reloads: one at a time, and one more if a change arrives during a reload. */
class Reloader {
  onApplied: (files: string[]) => void = () => {};
  private running: Promise<boolean> | undefined;
  private again = false;
  private readonly options: SidecarOptions;
  private readonly env: NodeJS.ProcessEnv;
  private readonly services: Services;
  private readonly current: () => Runtime;
  private readonly apply: (next: Runtime) => void;

  constructor(
    options: SidecarOptions,
    env: NodeJS.ProcessEnv,
    services: Services,
    current: () => Runtime,
    apply: (next: Runtime) => void,
  ) {
    this.options = options;
    this.env = env;
    this.services = services;
    this.current = current;
    this.apply = apply;
  }

  reload(reason: string): Promise<boolean> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = Promise.resolve()
      .then(() => this.reloadOnce(reason))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.reload(reason);
        }
      });
    return this.running;
  }

  private reloadOnce(reason: string): boolean {
    const { logger, metrics } = this.services;
    let loaded: LoadedConfig;
    let next: Runtime;
    try {
      loaded = loadConfig({ file: this.options.configFile, env: this.env });
      next = buildRuntime(loaded.config, this.services, this.current());
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      metrics.configReloads.inc({ result: 'rejected' });
      logger.error({ reason, problems: error.lines }, 'config reload rejected; the running config stays');
      return false;
    }
    warnAboutRestart(this.current().config, loaded.config, this.services);
    logger.level = loaded.config.logLevel;
    this.apply(next);
    this.onApplied(loaded.files);
    metrics.configReloads.inc({ result: 'applied' });
    logger.info({ reason }, 'config reloaded');
    return true;
  }
}

function warnAboutRestart(old: Config, next: Config, services: Services): void {
  if (listenChanged(old, next)) {
    services.logger.warn(
      { listen: next.listen, admin: next.admin.listen },
      'a changed listen address needs a restart; still listening on the old one',
    );
  }
}
