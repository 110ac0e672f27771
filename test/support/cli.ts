// The sidecar as users run it: the CLI in a child process (node src/cli.ts, Node 24's type
// stripping runs the same code the build ships).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { track } from './children.ts';
import { tempDir } from './sidecar.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
export const CLI = join(ROOT, 'src/cli.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...options.env },
      cwd: options.cwd ?? ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

export interface ServingSidecar {
  child: ChildProcess;
  url: string;
  adminUrl: string;
  configFile: string;
  dir: string;
  /** Every JSON log line so far. */
  lines: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves the first line (present or future) that matches. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

/** Writes the config as YAML (listening on free ports) and starts `auth-sidecar serve`. */
export async function serveCli(
  config: Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv; dir?: string; configFile?: string } = {},
): Promise<ServingSidecar> {
  const dir = options.dir ?? tempDir();
  const configFile = options.configFile ?? join(dir, 'config.yaml');
  if (!options.configFile) {
    writeFileSync(configFile, stringify({ listen: '127.0.0.1:0', admin: { listen: '127.0.0.1:0' }, ...config }));
  }
  const child = track(
    spawn(process.execPath, [CLI, 'serve', '--config', configFile], {
      env: { PATH: process.env.PATH, ...options.env },
      cwd: ROOT,
    }),
  );
  const lines: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  let buffer = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let at = buffer.indexOf('\n');
    while (at !== -1) {
      const text = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      at = buffer.indexOf('\n');
      if (!text.trim()) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLine = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 10_000) => {
    const found = lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line; stderr: ${stderr}`)), timeoutMs);
      waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void exited.then((code) => reject(new Error(`sidecar exited with ${code}: ${stderr}`)));
    });
  };
  const started = await waitForLine((l) => l.msg === 'auth-sidecar started').catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    url: started.listen as string,
    adminUrl: started.admin as string,
    configFile,
    dir,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}

/** Peak resident memory of a process, in bytes (VmHWM). */
export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) * 1024;
}
