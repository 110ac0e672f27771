// Benchmark: the sidecar against a direct call to the same upstream, per authentication
// method. Prints requests/s, p50/p99 latency, the sidecar's CPU time per request and its peak
// RSS as a table. Runs the built sidecar (dist/), as the image does.
//   npm run bench                  (10 s per scenario, 32 connections)
//   BENCH_SECONDS=5 BENCH_CONNECTIONS=64 npm run bench -- jwt   (only scenarios matching "jwt")
//   npm run bench -- tls           (the rows over HTTPS, each with its plain twin, and their ratio)
// The sidecar runs pinned to one core (taskset) when available, as a sidecar usually gets one.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { stringify } from 'yaml';
import { type BenchContext, clientCertificate, type Scenario, scenarios } from './scenarios.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/**
 * The sidecar runs in a memory cgroup of this size when the machine lets us make one (as root),
 * like the Helm chart's limit: Node sizes its heap to the cgroup, so RSS then shows what a pod
 * sees. 0 runs it unconstrained (V8 then grows its heap lazily, on a big machine to ~300 MB).
 */
const MEMORY_LIMIT_MB = Number(process.env.BENCH_MEMORY_LIMIT_MB ?? 256);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const root = new URL('..', import.meta.url).pathname;
const filter = process.argv[2]?.toLowerCase();

interface Row {
  scenario: string;
  /** For a TLS row: the plain row it is compared with. */
  plain?: string | undefined;
  rps: number;
  p50: number;
  p99: number;
  /** The sidecar's CPU time per request: steadier than req/s on a shared machine. */
  cpuMicros: number | null;
  rssMb: number | null;
  errors: number;
}

function hasTaskset(): boolean {
  try {
    return spawn('taskset', ['--version']).pid !== undefined;
  } catch {
    return false;
  }
}

/** Starts node with `args`, pinned to `core`, in `cgroup` if given; stdout is read when 'pipe'. */
function startProcess(
  args: string[],
  core: string | undefined,
  output: 'pipe' | 'ignore' = 'pipe',
  cgroup?: string,
): ChildProcess {
  const command =
    core && hasTaskset() ? ['taskset', '-c', core, process.execPath, ...args] : [process.execPath, ...args];
  if (cgroup) {
    const quoted = command.map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
    return spawn('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ${quoted}`], {
      cwd: root,
      stdio: ['ignore', output, 'inherit'],
    });
  }
  return spawn(command[0] as string, command.slice(1), { cwd: root, stdio: ['ignore', output, 'inherit'] });
}

/** A memory cgroup (v2, or v1's memory controller) limited to MEMORY_LIMIT_MB, if one can be made. */
function memoryCgroup(): string | undefined {
  if (MEMORY_LIMIT_MB <= 0) return undefined;
  const bytes = String(MEMORY_LIMIT_MB * 1024 * 1024);
  const candidates = [
    { root: '/sys/fs/cgroup', marker: 'cgroup.controllers', file: 'memory.max' },
    { root: '/sys/fs/cgroup/memory', marker: 'memory.limit_in_bytes', file: 'memory.limit_in_bytes' },
  ];
  for (const { root: base, marker, file } of candidates) {
    if (!existsSync(`${base}/${marker}`)) continue;
    const dir = `${base}/auth-sidecar-bench`;
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/${file}`, bytes);
      return dir;
    } catch {}
  }
  return undefined;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const at = buffer.indexOf('\n');
      if (at !== -1) resolve(buffer.slice(0, at));
    });
    child.once('exit', (code) => reject(new Error(`process exited with ${code}`)));
  });
}

async function waitForReady(adminUrl: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      if ((await fetch(`${adminUrl}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the sidecar did not become ready');
}

/** User + system CPU time of a process so far, in microseconds (Linux /proc). */
function cpuMicros(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10_000 : null;
  } catch {
    return null;
  }
}

function rssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

async function load(
  url: string,
  scenario: Scenario,
  seconds: number,
  tlsOptions: Record<string, unknown>,
): Promise<autocannon.Result> {
  let i = 0;
  const headers = scenario.headers;
  // autocannon keeps each connection open (keep-alive), over TLS too: handshakes are paid once
  // per connection, as behind a load balancer or a client pool. tlsOptions is not in its types.
  const options: autocannon.Options & { tlsOptions: Record<string, unknown> } = {
    url,
    connections: CONNECTIONS,
    duration: seconds,
    tlsOptions,
    requests: [headers ? { setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...headers(i++) } }) } : {}],
  };
  return autocannon(options);
}

const cgroup = memoryCgroup();

async function runScenario(scenario: Scenario, upstreamUrl: string): Promise<Row> {
  const ctx: BenchContext = { dir: mkdtempSync(join(tmpdir(), 'auth-sidecar-bench-')), upstreamUrl };
  await scenario.prepare?.(ctx);
  let sidecar: ChildProcess | undefined;
  let target = `${upstreamUrl}/bench`;
  if (scenario.config) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const configFile = join(ctx.dir, 'config.yaml');
    const config = {
      ...(await scenario.config(ctx)),
      listen: `127.0.0.1:${port}`,
      admin: { listen: `127.0.0.1:${port + 1}` },
    };
    writeFileSync(configFile, stringify(config));
    // Access logs go to /dev/null: the bench process, busy generating load, would read a pipe
    // too slowly and the logger would buffer (in a pod the container runtime reads promptly).
    sidecar = startProcess(['dist/cli.js', 'serve', '--config', configFile], '0', 'ignore', cgroup);
    await waitForReady(`http://127.0.0.1:${port + 1}`);
    target = `${scenario.tls ? 'https' : 'http'}://127.0.0.1:${port}${scenario.path ?? '/bench'}`;
  }
  const tlsOptions = scenario.tls?.client ? clientCertificate(ctx) : {};
  try {
    await load(target, scenario, 1, tlsOptions); // JIT warm-up, not measured
    const cpuBefore = cpuMicros(sidecar?.pid);
    const result = await load(target, scenario, SECONDS, tlsOptions);
    const cpuAfter = cpuMicros(sidecar?.pid);
    const cpu =
      cpuBefore === null || cpuAfter === null ? null : Math.round((cpuAfter - cpuBefore) / result.requests.total);
    return {
      scenario: scenario.name,
      plain: scenario.plain,
      rps: Math.round(result.requests.average),
      p50: result.latency.p50,
      p99: result.latency.p99,
      cpuMicros: cpu,
      rssMb: rssMb(sidecar?.pid),
      errors: result.errors + result.non2xx,
    };
  } finally {
    sidecar?.kill('SIGTERM');
  }
}

function printTable(rows: Row[]): void {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'sidecar CPU µs/req', 'sidecar peak RSS MB', 'errors'];
  printCells(
    header,
    rows.map((r) => [
      r.scenario,
      String(r.rps),
      String(r.p50),
      String(r.p99),
      r.cpuMicros === null ? '-' : String(r.cpuMicros),
      r.rssMb === null ? '-' : String(r.rssMb),
      String(r.errors),
    ]),
  );
}

/** Each TLS row against its plain twin: what HTTPS costs the sidecar per request. */
function printTlsRatios(rows: Row[]): void {
  const pairs = rows.flatMap((tls) => {
    const plain = rows.find((r) => r.scenario === tls.plain);
    return plain ? [{ tls, plain }] : [];
  });
  if (pairs.length === 0) return;
  const ratio = (a: number | null, b: number | null) =>
    a === null || b === null || b === 0 ? '-' : (a / b).toFixed(2);
  console.log('\nover TLS against its plain row (TLS ÷ plain)');
  printCells(
    ['TLS row', 'against', 'req/s', 'p50 ms', 'sidecar CPU µs/req'],
    pairs.map(({ tls, plain }) => [
      tls.scenario,
      plain.scenario,
      ratio(tls.rps, plain.rps),
      ratio(tls.p50, plain.p50),
      ratio(tls.cpuMicros, plain.cpuMicros),
    ]),
  );
}

function printCells(header: string[], lines: string[][]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => (l[c] as string).length)));
  const format = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c] as number)).join(' | ')} |`;
  console.log(format(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) console.log(format(line));
}

async function main(): Promise<void> {
  const upstream = startProcess(['bench/upstream.ts'], '1');
  const upstreamUrl = `http://127.0.0.1:${await firstLine(upstream)}`;
  const rows: Row[] = [];
  try {
    const chosen = (s: Scenario) => !filter || !s.config || s.name.toLowerCase().includes(filter);
    // A chosen TLS row brings its plain twin along, so the two can be compared.
    const twins = new Set(scenarios.filter(chosen).flatMap((s) => (s.plain ? [s.plain] : [])));
    for (const scenario of scenarios) {
      if (!chosen(scenario) && !twins.has(scenario.name)) continue;
      process.stderr.write(`bench: ${scenario.name} (${SECONDS}s, ${CONNECTIONS} connections)\n`);
      rows.push(await runScenario(scenario, upstreamUrl));
    }
  } finally {
    upstream.kill();
  }
  const memory = cgroup ? `sidecar in a ${MEMORY_LIMIT_MB} MB memory cgroup` : 'sidecar memory unconstrained';
  console.log(
    `\nauth-sidecar benchmark, node ${process.version}, ${CONNECTIONS} connections, ${SECONDS}s per row, ${memory}`,
  );
  printTable(rows);
  printTlsRatios(rows);
}

await main();
