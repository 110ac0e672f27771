// Real htpasswd files, written by Apache's own `htpasswd` tool (Debian package apache2-utils),
// so that the format under test is the one users' files have.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** htpasswd's flag for each hash kind it writes: -B bcrypt, -m Apache MD5, -s {SHA}, -d crypt, -p plain. */
export type HtpasswdKind = 'B' | 'm' | 's' | 'd' | 'p';

export interface HtpasswdUser {
  readonly user: string;
  /** A string is written as UTF-8; a Buffer as its bytes. */
  readonly password: string | Buffer;
  readonly kind?: HtpasswdKind;
  /** bcrypt cost; tests use 4 (fastest) unless they measure the real one. */
  readonly cost?: number;
}

/** Adds (or replaces) each user's line in `file`, creating the file when it does not exist. */
export function htpasswd(file: string, users: readonly HtpasswdUser[]): void {
  for (const { user, password, kind = 'B', cost = 4 } of users) {
    const flags = ['-i', `-${kind}`, ...(kind === 'B' ? ['-C', String(cost)] : [])];
    if (!existsSync(file)) flags.push('-c');
    // -i reads the password from stdin: any bytes, and never in argv.
    execFileSync('htpasswd', [...flags, file, user], { input: password, stdio: ['pipe', 'ignore', 'pipe'] });
  }
}

export function removeUser(file: string, user: string): void {
  execFileSync('htpasswd', ['-D', file, user], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Whether Apache's tool accepts `password` for `user` in `file` (`htpasswd -vb`). */
export function apacheAccepts(file: string, user: string, password: string): boolean {
  try {
    execFileSync('htpasswd', ['-vb', file, user, password], { stdio: ['ignore', 'ignore', 'ignore'] });
    return true;
  } catch {
    return false;
  }
}

/** The value of an `Authorization: Basic` header for these credentials (any bytes). */
export function basicAuth(user: string | Buffer, password: string | Buffer): string {
  const raw = Buffer.concat([Buffer.from(user), Buffer.from(':'), Buffer.from(password)]);
  return `Basic ${raw.toString('base64')}`;
}
