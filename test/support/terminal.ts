// A command run on a real pseudo-terminal, as a person at a shell runs it: util-linux's
// `script` gives the child a pty, forwards what the test types, and passes back everything
// the terminal shows (the child's stdout and stderr, and whatever the terminal echoes).
import { spawn } from 'node:child_process';
import { track } from './children.ts';
import { CLI } from './cli.ts';

export interface Terminal {
  /** Resolves once the screen shows `text` (what was shown so far, when it does). */
  waitFor(text: string, timeoutMs?: number): Promise<string>;
  /** Types `text`; "\r" is the Enter key. */
  type(text: string): void;
  /** Everything the terminal showed so far. */
  screen(): string;
  readonly exited: Promise<number | null>;
}

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/** `auth-sidecar ARGS` on a terminal of its own. */
export function cliOnTerminal(args: string[]): Terminal {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  // -q no banner, -e the child's exit code, -f flush at once, /dev/null: keep no typescript.
  const child = track(spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] }));
  let shown = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    shown += chunk.toString('utf8');
    for (const check of waiters) check();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    screen: () => shown,
    type: (text) => child.stdin.write(text),
    exited,
    waitFor: (text, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the terminal never showed ${JSON.stringify(text)}; it showed:\n${shown}`));
        }, timeoutMs);
        const check = () => {
          if (!shown.includes(text)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(shown);
        };
        waiters.add(check);
        check();
      }),
  };
}
