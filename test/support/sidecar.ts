// Starts a real sidecar in this process from a config object, the way the CLI does (a YAML
// file, the same loader), and captures its log lines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { type Sidecar, startSidecar } from '../../src/main.ts';

export interface TestSidecar extends Sidecar {
  configFile: string;
  dir: string;
  /** Every log line, parsed. */
  logs: Record<string, unknown>[];
  stop(): Promise<number>;
}

/** The value of one series on the sidecar's /metrics (0 when it has not appeared yet). */
export async function metric(sidecar: Pick<Sidecar, 'adminUrl'>, series: string): Promise<number> {
  const text = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

export const RELOADS_REJECTED = 'auth_sidecar_config_reloads_total{result="rejected"}';
export const RELOADS_APPLIED = 'auth_sidecar_config_reloads_total{result="applied"}';

export function tempDir(prefix = 'auth-sidecar-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestSidecar(
  config: Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv; dir?: string; watchIntervalMs?: number } = {},
): Promise<TestSidecar> {
  const dir = options.dir ?? tempDir();
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, ...config }));
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      callback();
    },
  });
  const sidecar = await startSidecar({
    configFile,
    env: options.env ?? {},
    logDestination: destination,
    watchIntervalMs: options.watchIntervalMs ?? 100,
  });
  let stopped: Promise<number> | undefined;
  return Object.assign(Object.create(null), sidecar, {
    configFile,
    dir,
    logs,
    stop: () => {
      stopped ??= sidecar.shutdown();
      return stopped;
    },
  }) as TestSidecar;
}
