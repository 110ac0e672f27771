// Reloads: one at a time, and one more if a change arrives during a reload. A new config that
// is invalid is refused, logged and counted, and the running one stays.
import { type LoadedConfig, loadConfig } from '../config/load.ts';
import { type Config, parseListen } from '../config/schema.ts';
import type { Runtime, Services } from '../decision/runtime.ts';
import { ConfigError } from '../errors.ts';

export interface ReloaderOptions {
  readonly configFile: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly services: Services;
  readonly current: () => Runtime;
  /** Builds the parts of a config (runtime.ts buildRuntime); throws ConfigError. */
  readonly build: (config: Config, previous: Runtime) => Runtime;
  /** Swaps the new runtime in; `files` are what the config names, to watch from now on. */
  readonly apply: (next: Runtime, files: string[]) => void;
}

/** Why a reload happens, as the log line says it. */
export type ReloadReason = 'SIGHUP' | 'file change' | 'request';

export class Reloader {
  private running: Promise<boolean> | undefined;
  private again: ReloadReason | undefined;
  private readonly options: ReloaderOptions;

  constructor(options: ReloaderOptions) {
    this.options = options;
  }

  reload(reason: ReloadReason): Promise<boolean> {
    if (this.running) {
      this.again = reason;
      return this.running;
    }
    this.running = Promise.resolve()
      .then(() => this.reloadOnce(reason))
      .finally(() => {
        this.running = undefined;
        const again = this.again;
        this.again = undefined;
        if (again) void this.reload(again);
      });
    return this.running;
  }

  private reloadOnce(reason: ReloadReason): boolean {
    const { services, current } = this.options;
    const { logger, metrics } = services;
    let loaded: LoadedConfig;
    let next: Runtime;
    try {
      loaded = loadConfig({ file: this.options.configFile, env: this.options.env });
      next = this.options.build(loaded.config, current());
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      metrics.configReloads.inc({ result: 'rejected' });
      logger.error({ reason, problems: error.lines }, 'config reload rejected; the running config stays');
      return false;
    }
    if (listenChanged(current().config, loaded.config)) {
      logger.warn(
        { listen: loaded.config.listen, admin: loaded.config.admin.listen },
        'a changed listen address needs a restart; still listening on the old one',
      );
    }
    if (tlsModeChanged(current().config, loaded.config)) {
      logger.warn(
        'turning tls on or off, or tls.clientCaFile or tls.requireClientCert, needs a restart; the listener keeps its mode (a new certificate, key or CA does apply)',
      );
    }
    logger.level = loaded.config.logLevel;
    this.options.apply(next, loaded.files);
    metrics.configReloads.inc({ result: 'applied' });
    logger.info({ reason }, 'config reloaded');
    return true;
  }
}

/** Whether the listener would be created otherwise: HTTPS or not, asking for certificates, requiring them. */
function tlsModeChanged(a: Config, b: Config): boolean {
  const mode = (c: Config) => (c.tls ? `tls:${c.tls.clientCaFile !== undefined}:${c.tls.requireClientCert}` : 'plain');
  return mode(a) !== mode(b);
}

/** Whether a new config changes what only a restart can change. */
function listenChanged(a: Config, b: Config): boolean {
  const same = (x: string, y: string) => JSON.stringify(parseListen(x)) === JSON.stringify(parseListen(y));
  return !same(a.listen, b.listen) || !same(a.admin.listen, b.admin.listen);
}
