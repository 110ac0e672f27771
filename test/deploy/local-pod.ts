// A pod, as far as a test on one machine can make one: its own network namespace (one
// loopback shared by its containers, so the ports of the manifest are used as written and
// collide with nothing), its own mount namespace with the volumes mounted at the paths the
// manifest names, the root filesystem read-only, an in-memory /tmp. Containers run as local
// processes entered into it with nsenter. Needs root (as CI has) and util-linux.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { elapse } from '../support/wait.ts';

export interface Mount {
  path: string;
  /** File name → content; absent for an in-memory emptyDir. */
  files?: Record<string, string>;
  readOnly?: boolean;
}

export interface ProcessSpec {
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A process started in the pod, its output collected. */
export class PodProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(child: ChildProcess) {
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Waits for a JSON log line that matches (log lines are written after the response). */
  waitForLogLine(
    matches: (line: Record<string, unknown>) => boolean,
    timeoutMs = 2000,
  ): Promise<Record<string, unknown>> {
    return this.poll(() => this.logLines().find(matches), timeoutMs);
  }

  /** Waits until the process has printed `text`. */
  async waitForOutput(text: string, timeoutMs = 5000): Promise<void> {
    await this.poll(() => this.stdout.includes(text) || undefined, timeoutMs);
  }

  private async poll<T>(found: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`not seen within ${timeoutMs} ms in:\n${this.stdout}${this.stderr}`);
      await elapse(20);
    }
  }

  /** stdout lines that are JSON (the sidecar's log lines). */
  logLines(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export class LocalPod {
  private readonly holder: ChildProcess;
  private readonly pid: number;
  private readonly dir: string;
  private readonly processes: PodProcess[] = [];

  private constructor(holder: ChildProcess, pid: number, dir: string) {
    this.holder = holder;
    this.pid = pid;
    this.dir = dir;
  }

  /**
   * `keep`: host folders the processes need (the repository, the node binary's folder); when an
   * in-memory mount (the /tmp emptyDir) would hide one of them, it is bound back in place.
   */
  static async start(mounts: Mount[], keep: string[] = []): Promise<LocalPod> {
    const dir = mkdtempSync(join(tmpdir(), 'auth-sidecar-pod-'));
    const script = setupScript(mounts, keep, dir);
    const holder = spawn('unshare', ['--net', '--mount', '--fork', '--', 'sh', '-c', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let errors = '';
    holder.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    const pid = await new Promise<number>((resolve, reject) => {
      holder.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const ready = /ready (\d+)\n/.exec(output);
        if (ready) resolve(Number(ready[1]));
      });
      holder.once('exit', (code) => reject(new Error(`the pod namespace did not start (exit ${code}):\n${errors}`)));
    });
    return new LocalPod(holder, pid, dir);
  }

  private enterArgs(spec: ProcessSpec): string[] {
    return ['--target', String(this.pid), '--mount', '--net', `--wd=${spec.cwd ?? '/'}`, '--', ...spec.argv];
  }

  /** Starts a process in the pod (nsenter execs it: its pid is the process's own). */
  spawn(spec: ProcessSpec): PodProcess {
    const child = spawn('nsenter', this.enterArgs(spec), {
      env: spec.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = new PodProcess(child);
    this.processes.push(started);
    return started;
  }

  /** Runs a process in the pod to its end. */
  async run(spec: ProcessSpec): Promise<Exit> {
    const started = this.spawn(spec);
    const code = await started.exited;
    return { code, stdout: started.stdout, stderr: started.stderr };
  }

  /** curl inside the pod, as a client in the pod's network would call. */
  async curl(args: string[]): Promise<HttpAnswer> {
    const result = await this.run({ argv: ['curl', '-sS', '-i', '--max-time', '10', ...args] });
    if (result.code !== 0) throw new Error(`curl ${args.join(' ')} failed: ${result.stderr}`);
    return parseHttpAnswer(result.stdout);
  }

  /**
   * Waits until `url` (in the pod) answers `status`. The default leaves room for a cold start
   * on a loaded 2-core machine (the sidecar alone was seen taking 12 s to listen at load 35).
   */
  async waitFor(url: string, status: number, timeoutMs = 40_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const result = await this.run({ argv: ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url] });
      last = result.stdout;
      if (last === String(status)) return;
      await elapse(100);
    }
    throw new Error(`${url} answered ${last || 'nothing'}, not ${status}, within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    for (const started of this.processes) if (started.child.exitCode === null) started.child.kill('SIGKILL');
    await Promise.all(this.processes.map((p) => p.exited));
    this.holder.kill('SIGKILL');
    await new Promise((resolve) => (this.holder.exitCode === null ? this.holder.once('exit', resolve) : resolve(null)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * The namespace's set-up: mount points that do not exist (/etc/auth-sidecar/...) are made in an
 * overlay over their top folder, so the host's own folders stay untouched; volume contents are
 * written to a host temp folder first and bound read-only at their paths; then in-memory
 * mounts, and the root made read-only.
 */
function setupScript(mounts: Mount[], keep: string[], dir: string): string {
  const lines = ['set -e', 'mount --make-rprivate /', 'ip link set lo up'];
  // /etc is always overlaid: besides mount points, it holds the folders kept across tmpfs mounts.
  const overlays = new Set(['/etc']);
  for (const mount of mounts) {
    const top = `/${mount.path.split('/')[1]}`;
    if (top !== '/tmp') overlays.add(top);
  }
  [...overlays].forEach((top, index) => {
    const base = join(dir, `overlay-${index}`);
    mkdirSync(base);
    lines.push(
      `mount -t tmpfs tmpfs ${quote(base)}`,
      `mkdir ${quote(`${base}/upper`)} ${quote(`${base}/work`)}`,
      `mount -t overlay overlay -o ${quote(`lowerdir=${top},upperdir=${base}/upper,workdir=${base}/work`)} ${quote(top)}`,
    );
  });
  mounts.forEach((mount, index) => {
    lines.push(`mkdir -p ${quote(mount.path)}`);
    if (mount.files === undefined) return;
    const source = join(dir, `volume-${index}`);
    mkdirSync(source);
    for (const [name, content] of Object.entries(mount.files)) {
      mkdirSync(dirname(join(source, name)), { recursive: true });
      writeFileSync(join(source, name), content);
    }
    lines.push(`mount --bind ${quote(source)} ${quote(mount.path)}`);
    if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${quote(mount.path)}`);
  });
  const memory = [...new Set(mounts.filter((m) => m.files === undefined).map((m) => m.path))];
  memory.forEach((path, index) => {
    const hidden = keep.filter((k) => k === path || k.startsWith(`${path}/`));
    const holder = (i: number) => quote(`/etc/.local-pod-keep/${index}-${i}`);
    for (const [i, k] of hidden.entries()) lines.push(`mkdir -p ${holder(i)}`, `mount --bind ${quote(k)} ${holder(i)}`);
    lines.push(`mount -t tmpfs -o size=16m tmpfs ${quote(path)}`);
    for (const [i, k] of hidden.entries()) lines.push(`mkdir -p ${quote(k)}`, `mount --bind ${holder(i)} ${quote(k)}`);
  });
  // readOnlyRootFilesystem: nothing but the in-memory mounts may be written.
  lines.push('mount -o remount,bind,ro /');
  for (const top of overlays) lines.push(`mount -o remount,ro ${quote(top)}`);
  lines.push('echo "ready $$"', 'exec sleep infinity');
  return lines.join('\n');
}

/** `curl -i` output: the last header block (after any 100 Continue) and the body. */
export function parseHttpAnswer(text: string): HttpAnswer {
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    const head = end === -1 ? rest : rest.slice(0, end);
    const body = end === -1 ? '' : rest.slice(end + 4);
    const [statusLine = '', ...headerLines] = head.split('\r\n');
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine)?.[1]);
    if (status === 100 && end !== -1) {
      rest = body;
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status, headers, body };
  }
}
