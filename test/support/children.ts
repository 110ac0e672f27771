// Every server process a test starts (sidecar CLI, Redis, nginx, Caddy) is tracked here, so that
// a test that fails before it stops its server does not leave the process behind: an orphan
// keeps its ports, memory and CPU for the rest of the run, and slows every later test file.
import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();

export function track<T extends ChildProcess>(child: T): T {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Kills whatever is still running; the setup file calls it after each test file. */
export function killLeftovers(): void {
  for (const child of running) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  running.clear();
}

process.once('exit', killLeftovers);
