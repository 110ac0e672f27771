// Runs a real server binary (nginx, Caddy) in the foreground with a config the test wrote,
// waits until its port answers, and stops exactly the process it started.
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { track } from './children.ts';
import { elapse } from './wait.ts';

export interface ExternalServer {
  readonly url: string;
  /** What the server wrote, for failure messages. */
  readonly output: () => string;
  stop(): Promise<void>;
}

export async function startExternalServer(
  command: string,
  args: string[],
  port: number,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ExternalServer> {
  const child = track(spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: 'pipe' }));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${command} did not start: ${(error as Error).message}\n${output}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if (await answers(port)) return;
    await elapse(50);
  }
  throw new Error('timed out waiting for its port');
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
