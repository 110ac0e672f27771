#!/usr/bin/env node
// auth-sidecar [serve] | check-config | hash-password | explain | --version
// Exit codes: 0 ok, 1 runtime failure, 64 usage error, 78 invalid configuration.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hashPasswordCommand } from './authn/basic/hash-password-command.ts';
import { configFileOf } from './config/env.ts';
import { loadConfig } from './config/load.ts';
import { ConfigError, EXIT_CONFIG, EXIT_USAGE } from './errors.ts';
import { explainCommand } from './explain-command.ts';
import { startSidecar } from './main.ts';
import { buildRuntime, offlineServices, retireRuntime } from './runtime.ts';

const USAGE = `usage: auth-sidecar [serve] [--config FILE]
       auth-sidecar check-config [--config FILE]
       auth-sidecar hash-password [--user NAME] < password
       auth-sidecar explain [--config FILE] [-X METHOD] [--token JWT | --basic USER:PASSWORD |
                            --claims JSON [--via jwt|session]] [--cert FILE] [-H "Name: value"]... PATH
       auth-sidecar --version

The config file may also be named by AUTH_SIDECAR_CONFIG; any key can be set by an
AUTH_SIDECAR_* variable (see the README). explain's --token - and --basic - read the
credential from stdin.`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  serve,
  'check-config': checkConfig,
  'hash-password': (args) => hashPasswordCommand(args, process),
  explain: (args) => explainCommand(args, { usageError, reportConfigError }),
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v') {
    process.stdout.write(`auth-sidecar ${version()}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (first === undefined || first.startsWith('-')) return serve(argv);
  const command = COMMANDS[first];
  if (!command) return usageError(`unknown command "${first}"`);
  return command(rest);
}

function usageError(message: string): number {
  process.stderr.write(`auth-sidecar: ${message}\n${USAGE}\n`);
  return EXIT_USAGE;
}

/** The config file the arguments name (see configFileOf), or null after a usage error. */
function configFileFrom(args: string[]): string | undefined | null {
  try {
    const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, strict: true });
    return configFileOf(values.config);
  } catch (error) {
    usageError((error as Error).message);
    return null;
  }
}

function reportConfigError(error: unknown): number {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.lines.join('\n')}\n`);
  return EXIT_CONFIG;
}

async function serve(args: string[]): Promise<number> {
  const configFile = configFileFrom(args);
  if (configFile === null) return EXIT_USAGE;
  let sidecar: Awaited<ReturnType<typeof startSidecar>>;
  try {
    sidecar = await startSidecar({ configFile });
  } catch (error) {
    if (error instanceof ConfigError) return reportConfigError(error);
    const { code, message } = error as NodeJS.ErrnoException;
    process.stderr.write(`auth-sidecar: cannot start: ${code === 'EADDRINUSE' ? 'address already in use' : message}\n`);
    return 1;
  }
  const { logger } = sidecar.services;
  // Node prints its warnings (a dependency's deprecation, say: http-proxy's util._extend) as
  // plain text on stderr; every log line must be JSON, so they go through the logger instead.
  process.removeAllListeners('warning');
  process.on('warning', ({ name, message, code }: Error & { code?: string }) =>
    logger.warn({ warning: { name, code, message } }, 'node warning'),
  );
  process.on('SIGHUP', () => void sidecar.reload('SIGHUP'));
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  // A bug, not an input: log it as JSON like everything else, then stop (the pod restarts us).
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    logger.flush(() => process.exit(1));
  });
  return new Promise<number>((resolve) => {
    // One drain per process: a second signal (Ctrl-C, then the runtime's SIGTERM) must neither
    // start another nor kill the process mid-drain with the default handler.
    let draining = false;
    const stop = (signal: string) => {
      if (draining) return logger.info({ signal }, 'already draining');
      draining = true;
      logger.info({ signal }, 'draining');
      void sidecar.shutdown().then(resolve);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

/** Validates the config and every file it names, without listening or calling the network. */
async function checkConfig(args: string[]): Promise<number> {
  const configFile = configFileFrom(args);
  if (configFile === null) return EXIT_USAGE;
  try {
    const { config } = loadConfig({ file: configFile });
    const services = offlineServices();
    const runtime = buildRuntime(config, services);
    await retireRuntime(runtime, undefined, services);
    const methods = [...runtime.authenticators.keys()].join(', ');
    process.stdout.write(`config ok: listen ${config.listen}, upstream ${config.upstream.url}, methods ${methods}\n`);
    return 0;
  } catch (error) {
    return reportConfigError(error);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`auth-sidecar: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
