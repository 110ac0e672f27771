// `auth-sidecar hash-password [--user NAME]`: reads a password on stdin and prints the bcrypt
// hash (cost 10) an htpasswd line holds, or `NAME:hash`. The password never appears in argv
// (which other users of the machine can read) and the stdin's trailing newline is not part
// of it. A password bcrypt would silently cut (over 72 bytes) is refused, not truncated.
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { BCRYPT_MAX_PASSWORD_BYTES, hashNewPassword } from './password-hash.ts';

export interface CommandIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable;
  readonly stderr: Writable;
}

const EXIT_USAGE = 64;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const BAD_USER_NAME = /[:\x00-\x1f\x7f]/;

export async function hashPasswordCommand(args: string[], io: CommandIo): Promise<number> {
  let user: string | undefined;
  try {
    const { values } = parseArgs({ args, options: { user: { type: 'string', short: 'u' } }, strict: true });
    user = values.user;
  } catch (error) {
    return fail(io, (error as Error).message);
  }
  if (user !== undefined && (user === '' || BAD_USER_NAME.test(user))) {
    return fail(io, '--user must be a non-empty name without colons or control characters');
  }
  if (io.stdin.isTTY) io.stderr.write('Password (then Enter): ');
  const password = withoutTrailingNewline(await readPassword(io.stdin));
  if (password.length === 0) return fail(io, 'no password on stdin');
  if (password.length > BCRYPT_MAX_PASSWORD_BYTES) {
    return fail(io, `the password is longer than ${BCRYPT_MAX_PASSWORD_BYTES} bytes, all bcrypt can use`);
  }
  const hash = await hashNewPassword(password);
  io.stdout.write(user === undefined ? `${hash}\n` : `${user}:${hash}\n`);
  return 0;
}

/** All of stdin; from a terminal, the first line. */
async function readPassword(stdin: CommandIo['stdin']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) {
    chunks.push(Buffer.from(chunk as Buffer));
    if (stdin.isTTY && chunks.at(-1)?.includes(0x0a)) break;
  }
  return Buffer.concat(chunks);
}

function withoutTrailingNewline(bytes: Buffer): Buffer {
  if (bytes.at(-1) !== 0x0a) return bytes;
  return bytes.subarray(0, bytes.at(-2) === 0x0d ? -2 : -1);
}

function fail(io: CommandIo, message: string): number {
  io.stderr.write(
    `auth-sidecar hash-password: ${message}\nusage: auth-sidecar hash-password [--user NAME] < password\n`,
  );
  return EXIT_USAGE;
}
