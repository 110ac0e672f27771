// `auth-sidecar hash-password [--user NAME]`: prints the bcrypt hash (cost 10) an htpasswd
// line holds, or `NAME:hash`. The password never appears in argv (which other users of the
// machine can read). On a terminal it is typed twice without being shown, and two that
// differ are refused (a typo would lock the user out); from a pipe it is all of stdin, less
// one trailing newline. A password bcrypt would silently cut (over 72 bytes) is refused.
import { createInterface } from 'node:readline';
import { type Readable, Writable } from 'node:stream';
import { BCRYPT_MAX_PASSWORD_BYTES, hashNewPassword } from './authn/basic/password-hash.ts';
import { parseCommandLine, UsageError } from './cli-args.ts';
import { USAGE } from './cli-help.ts';

export interface CommandIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable;
  readonly stderr: Writable;
}

const EXIT_USAGE = 64;
/** A shell's exit code for Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const BAD_USER_NAME = /[:\x00-\x1f\x7f]/;

class Interrupted extends Error {}

export async function hashPasswordCommand(args: string[], io: CommandIo): Promise<number> {
  let user: string | undefined;
  try {
    user = parseCommandLine(args, { user: { type: 'string', short: 'u' } }).values.user;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return fail(io, error.message);
  }
  if (user !== undefined && (user === '' || BAD_USER_NAME.test(user))) {
    return fail(io, '--user must be a non-empty name without colons or control characters');
  }
  let password: Buffer;
  try {
    password = io.stdin.isTTY ? await askTwice(io) : withoutTrailingNewline(await readAll(io.stdin));
  } catch (error) {
    if (error instanceof UsageError) return fail(io, error.message);
    if (!(error instanceof Interrupted)) throw error;
    io.stderr.write('auth-sidecar hash-password: interrupted, nothing printed\n');
    return EXIT_INTERRUPTED;
  }
  if (password.length === 0) return fail(io, io.stdin.isTTY ? 'no password typed' : 'no password on stdin');
  if (password.length > BCRYPT_MAX_PASSWORD_BYTES) {
    return fail(io, `the password is longer than ${BCRYPT_MAX_PASSWORD_BYTES} bytes, all bcrypt can use`);
  }
  const hash = await hashNewPassword(password);
  io.stdout.write(user === undefined ? `${hash}\n` : `${user}:${hash}\n`);
  return 0;
}

/** Asks on the terminal twice, without echo; throws UsageError when the two differ. */
async function askTwice(io: CommandIo): Promise<Buffer> {
  const first = await askHidden(io, 'Password: ');
  if (first === '') return Buffer.alloc(0);
  const second = await askHidden(io, 'Again: ');
  if (second !== first) throw new UsageError('the two passwords differ; nothing printed');
  return Buffer.from(first, 'utf8');
}

/**
 * One line from the terminal, not shown as it is typed: readline puts the terminal in raw
 * mode (so the terminal does not echo) and edits the line (backspace, Ctrl-U), and its own
 * echo goes to a sink. The prompt goes to stderr: stdout is often an htpasswd file.
 */
async function askHidden(io: CommandIo, prompt: string): Promise<string> {
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const reader = createInterface({ input: io.stdin, output: sink, terminal: true });
  io.stderr.write(prompt);
  try {
    return await new Promise<string>((resolve, reject) => {
      reader.once('line', resolve);
      reader.once('SIGINT', () => reject(new Interrupted()));
      reader.once('close', () => reject(new Interrupted())); // Ctrl-D
    });
  } finally {
    reader.close();
    io.stderr.write('\n');
  }
}

async function readAll(stdin: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

function withoutTrailingNewline(bytes: Buffer): Buffer {
  if (bytes.at(-1) !== 0x0a) return bytes;
  return bytes.subarray(0, bytes.at(-2) === 0x0d ? -2 : -1);
}

function fail(io: CommandIo, message: string): number {
  io.stderr.write(`auth-sidecar hash-password: ${message}\n${USAGE['hash-password']}\n`);
  return EXIT_USAGE;
}
