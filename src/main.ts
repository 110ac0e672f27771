// The running sidecar, wired: load the config, build the parts, listen, reload on change,
// drain on shutdown. cli.ts wires it to signals; tests start it in-process the same way.
import type { DestinationStream } from 'pino';
import { createApp } from './app.ts';
import { KeySetRegistry } from './authn/jwt/key-set-registry.ts';
import { loadConfig } from './config/load.ts';
import { FileWatcher } from './config/watch.ts';
import type { Runtime, Services } from './decision/runtime.ts';
import { createAdminServer, oidcCheck, type ReadinessCheck, upstreamCheck } from './http/admin.ts';
import { handler } from './http/respond.ts';
import { drain } from './lifecycle/drain.ts';
import { createMainServer, listen, openConnections, renewTls } from './lifecycle/main-server.ts';
import { Reloader, type ReloadReason } from './lifecycle/reloader.ts';
import { createLogger, lineWriter } from './observability/logger.ts';
import { createMetrics } from './observability/metrics.ts';
import { buildRuntime, retireRuntime } from './runtime.ts';
import { WebSocketProxy } from './upstream/websocket.ts';
import { version } from './version.ts';

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
  reload(reason?: ReloadReason): Promise<boolean>;
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
    logLine: lineWriter(logger),
    metrics,
    keySets: new KeySetRegistry(logger, metrics),
    websockets: new WebSocketProxy(),
    draining: false,
  };
  let runtime = buildRuntime(loaded.config, services);
  runtime.login?.providers.prefetch();
  const current = () => runtime;

  const server = createMainServer(
    handler(createApp(current, services), () => services.draining),
    runtime.tls,
  );
  const connections = openConnections(server);
  // A failed handshake (TLS 1.1, no client certificate with requireClientCert, a scanner) makes
  // no request and so no access line: at debug level, say why.
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: { remoteAddress?: string }) => {
    logger.debug({ client: socket.remoteAddress, reason: error.code ?? error.message }, 'TLS handshake failed');
  });
  const checks = new Map<string, ReadinessCheck>([
    ['config', () => Promise.resolve()],
    ['sessionStore', () => runtime.store.ping()],
    ['upstream', upstreamCheck(current)],
    ['oidc', oidcCheck(current)],
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
  logger.info(
    {
      version: version(),
      node: process.versions.node,
      methods: [...runtime.authenticators.keys()],
      sessionStore: runtime.store.kind,
      listen: url,
      admin: adminUrl,
      upstream: runtime.upstream.origin,
    },
    'auth-sidecar started',
  );

  const watcher = new FileWatcher(loaded.files, () => void reloader.reload('file change'), options.watchIntervalMs);
  const reloader = new Reloader({
    configFile: options.configFile,
    env,
    services,
    current,
    build: (next, previous) => buildRuntime(next, services, previous),
    apply: (next, files) => {
      const old = runtime;
      runtime = next;
      renewTls(server, connections, old.tls, next.tls);
      next.login?.providers.prefetch();
      void retireRuntime(old, next, services);
      watcher.setFiles(files);
    },
  });

  return {
    url,
    adminUrl,
    services,
    current,
    reload: (reason = 'request') => reloader.reload(reason),
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
