// `auth-sidecar hash-password`, run as users run it (the CLI, stdin piped), and checked by
// Apache's own `htpasswd -vb`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../test/support/cli.ts';
import { apacheAccepts } from '../test/support/htpasswd.ts';
import { tempDir } from '../test/support/sidecar.ts';
import { cliOnTerminal } from '../test/support/terminal.ts';
import { hashPasswordCommand } from './hash-password-command.ts';

const BCRYPT_COST_10 = /^\$2y\$10\$[./A-Za-z0-9]{53}$/;

/** The real CLI in a child process, as users run it. */
const hashPassword = (stdin: string, args: string[] = []) => runCli(['hash-password', ...args], { stdin });

/** The command in this process, with piped stdin: for the cases that need no real process. */
async function hashPasswordInProcess(stdin: string | Buffer, args: string[] = []) {
  let stdout = '';
  let stderr = '';
  const sink = (write: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        write(chunk.toString('utf8'));
        callback();
      },
    });
  const code = await hashPasswordCommand(args, {
    stdin: Readable.from([Buffer.from(stdin)]),
    stdout: sink((text) => {
      stdout += text;
    }),
    stderr: sink((text) => {
      stderr += text;
    }),
  });
  return { code, stdout, stderr };
}

function acceptedByApache(line: string, user: string, password: string): boolean {
  const file = join(tempDir(), 'htpasswd');
  writeFileSync(file, line);
  return apacheAccepts(file, user, password);
}

describe('auth-sidecar hash-password', () => {
  it('prints only a bcrypt cost-10 hash that htpasswd -vb accepts', async () => {
    const { code, stdout, stderr } = await hashPassword('correct horse\n');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/\n$/);
    const hash = stdout.trimEnd();
    expect(hash).toMatch(BCRYPT_COST_10);
    expect(acceptedByApache(`alice:${hash}\n`, 'alice', 'correct horse')).toBe(true);
    expect(acceptedByApache(`alice:${hash}\n`, 'alice', 'correct horse\n')).toBe(false);
    expect(acceptedByApache(`alice:${hash}\n`, 'alice', 'wrong')).toBe(false);
  });

  it('prints NAME:hash with --user, ready to append to an htpasswd file', async () => {
    const { code, stdout } = await hashPassword('pässwörd: €', ['--user', 'jürgen']);
    expect(code).toBe(0);
    const [user, hash] = stdout.trimEnd().split(':');
    expect(user).toBe('jürgen');
    expect(hash).toMatch(BCRYPT_COST_10);
    expect(acceptedByApache(stdout, 'jürgen', 'pässwörd: €')).toBe(true);
  });

  it('drops one trailing newline (LF or CRLF) and nothing else; salts every hash anew', async () => {
    const crlf = (await hashPasswordInProcess('pw\r\n')).stdout;
    expect(acceptedByApache(`u:${crlf}`, 'u', 'pw')).toBe(true);
    const twoNewlines = (await hashPasswordInProcess('pw\n\n')).stdout;
    expect(acceptedByApache(`u:${twoNewlines}`, 'u', 'pw')).toBe(false);
    expect(acceptedByApache(`u:${twoNewlines}`, 'u', 'pw\n')).toBe(true);
    expect(crlf.slice(7, 29)).not.toBe(twoNewlines.slice(7, 29));
  });

  it('refuses an empty password, one bcrypt would truncate, and a bad user name (exit 64)', async () => {
    for (const [stdin, args, message] of [
      ['', [], 'no password on stdin'],
      ['\n', [], 'no password on stdin'],
      ['x'.repeat(73), [], 'longer than 72 bytes'],
      ['pw', ['--user', 'a:b'], '--user must be'],
      ['pw', ['--user', ''], '--user must be'],
      ['pw', ['--bogus'], 'unknown option --bogus'],
      ['pw', ['--user'], '--user needs a value'],
    ] as const) {
      const { code, stdout, stderr } = await hashPasswordInProcess(stdin, [...args]);
      expect(code).toBe(64);
      expect(stdout).toBe('');
      expect(stderr).toContain(message);
    }
    expect((await hashPasswordInProcess('x'.repeat(72))).code).toBe(0);
  });
});

describe('auth-sidecar hash-password on a terminal', () => {
  it('asks twice without showing what is typed, and prints the NAME:hash line', async () => {
    const terminal = cliOnTerminal(['hash-password', '--user', 'bob']);
    await terminal.waitFor('Password: ');
    terminal.type('s3cret pass\r');
    await terminal.waitFor('Again: ');
    terminal.type('s3cret pass\r');
    expect(await terminal.exited).toBe(0);
    const screen = terminal.screen();
    expect(screen).not.toContain('s3cret');
    const line = /bob:\S+/.exec(screen)?.[0] as string;
    expect(line.slice(4)).toMatch(BCRYPT_COST_10);
    expect(acceptedByApache(`${line}\n`, 'bob', 's3cret pass')).toBe(true);
  });

  it('refuses two passwords that differ, and prints no hash', async () => {
    const terminal = cliOnTerminal(['hash-password']);
    await terminal.waitFor('Password: ');
    terminal.type('first try\r');
    await terminal.waitFor('Again: ');
    terminal.type('first tyr\r');
    expect(await terminal.exited).toBe(64);
    const screen = terminal.screen();
    expect(screen).toContain('auth-sidecar hash-password: the two passwords differ; nothing printed');
    expect(screen).not.toContain('$2y$');
    expect(screen).not.toContain('first t');
  });

  it('stops on Ctrl-C without printing anything', async () => {
    const terminal = cliOnTerminal(['hash-password']);
    await terminal.waitFor('Password: ');
    terminal.type('half typed\x03');
    expect(await terminal.exited).toBe(130);
    expect(terminal.screen()).toContain('interrupted, nothing printed');
    expect(terminal.screen()).not.toContain('half typed');
  });
});
