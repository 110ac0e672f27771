// The users that basic.htpasswdFile and basic.groupsFile define, loaded whole or not at all:
// a file that cannot be read or has an unusable line is a ConfigError naming the key and the
// line (`config: basic.htpasswdFile: line 3: ...`), so a reload is refused and the last good
// set keeps serving.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeFsError } from '../../config/load.ts';
import type { BasicConfig } from '../../config/schema.ts';
import { ConfigError } from '../../errors.ts';
import { parseGroupsFile } from './groups-file.ts';
import { type LineProblem, type NumberedLine, parseHtpasswd } from './htpasswd.ts';
import { decoyHash, type StoredHash } from './password-hash.ts';

export interface DirectoryEntry {
  readonly hash: StoredHash;
  readonly groups: readonly string[];
}

/** Most problems reported per file: enough to fix a file, not a flood. */
const MAX_PROBLEMS = 20;
const NO_GROUPS: readonly string[] = Object.freeze([]);
/** The decoy for an empty file: what `auth-sidecar hash-password` writes. */
const DEFAULT_DECOY_LIKE: StoredHash = { scheme: 'bcrypt', value: '', cost: 10 };

export class UserDirectory {
  /** Changes whenever either file's content does: a reload with equal files keeps the cache. */
  readonly fingerprint: string;
  readonly size: number;
  private readonly users: ReadonlyMap<string, StoredHash>;
  private readonly groupsOf: ReadonlyMap<string, readonly string[]>;
  private decoy: Promise<StoredHash> | undefined;
  private readonly decoyLike: StoredHash;

  constructor(
    users: ReadonlyMap<string, StoredHash>,
    groupsOf: ReadonlyMap<string, readonly string[]>,
    fingerprint: string,
  ) {
    this.users = users;
    this.groupsOf = groupsOf;
    this.fingerprint = fingerprint;
    this.size = users.size;
    this.decoyLike = typicalHash(users.values()) ?? DEFAULT_DECOY_LIKE;
  }

  /** The user's stored hash and groups; the name is matched exactly, as Apache does. */
  lookup(user: string): DirectoryEntry | undefined {
    const hash = this.users.get(user);
    return hash && { hash, groups: this.groupsOf.get(user) ?? NO_GROUPS };
  }

  /** Every user and its hash, in the file's order. */
  entries(): IterableIterator<[string, StoredHash]> {
    return this.users.entries();
  }

  /**
   * The hash an unknown user is checked against: of the kind and cost most lines use, so
   * that "no such user" costs what "wrong password" costs. Made once, off the event loop.
   */
  decoyHash(): Promise<StoredHash> {
    this.decoy ??= decoyHash(this.decoyLike);
    return this.decoy;
  }
}

/** Reads and parses the files a basic config names; throws ConfigError with every problem. */
export function loadUserDirectory(config: BasicConfig): UserDirectory {
  const errors: string[] = [];
  const digest = createHash('sha256');
  const htpasswd = readLines('basic.htpasswdFile', config.htpasswdFile, errors, digest);
  const groups =
    config.groupsFile === undefined ? undefined : readLines('basic.groupsFile', config.groupsFile, errors, digest);
  const parsedUsers = htpasswd && parseHtpasswd(htpasswd);
  if (parsedUsers) report('basic.htpasswdFile', parsedUsers.problems, errors);
  const parsedGroups = groups && parseGroupsFile(groups);
  if (parsedGroups) report('basic.groupsFile', parsedGroups.problems, errors);
  if (errors.length > 0 || !parsedUsers) throw new ConfigError(errors);
  return new UserDirectory(parsedUsers.users, parsedGroups?.groupsOf ?? new Map(), digest.digest('base64url'));
}

/**
 * The file's lines that carry content (not blank, not `#` comments), trimmed. Each line is
 * decoded as UTF-8 on its own, so an invalid byte is reported with its line number.
 */
function readLines(
  key: string,
  file: string,
  errors: string[],
  digest: ReturnType<typeof createHash>,
): NumberedLine[] | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    errors.push(`config: ${key}: cannot read "${file}": ${describeFsError(error)}`);
    return undefined;
  }
  digest.update(`${key}\0${bytes.length}\0`).update(bytes);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  const lines: NumberedLine[] = [];
  const problems: LineProblem[] = [];
  let start = 0;
  for (let number = 1; start <= bytes.length; number++) {
    const end = bytes.indexOf(0x0a, start);
    const raw = bytes.subarray(start, end < 0 ? bytes.length : end);
    start = end < 0 ? bytes.length + 1 : end + 1;
    let text: string;
    try {
      text = decoder.decode(raw).trim();
    } catch {
      problems.push({ line: number, reason: 'is not valid UTF-8' });
      continue;
    }
    if (text !== '' && !text.startsWith('#')) lines.push({ number, text });
  }
  // The other lines are still parsed, so that every problem is reported at once.
  report(key, problems, errors);
  return lines;
}

function report(key: string, problems: readonly LineProblem[], errors: string[]): void {
  for (const { line, reason } of problems.slice(0, MAX_PROBLEMS))
    errors.push(`config: ${key}: line ${line}: ${reason}`);
  if (problems.length > MAX_PROBLEMS) {
    errors.push(`config: ${key}: ${problems.length - MAX_PROBLEMS} more lines with problems`);
  }
}

/** The scheme and cost most hashes share; on a tie, the costlier. */
function typicalHash(hashes: Iterable<StoredHash>): StoredHash | undefined {
  const counts = new Map<string, { like: StoredHash; count: number }>();
  for (const hash of hashes) {
    const key = `${hash.scheme}:${hash.cost}`;
    const entry = counts.get(key) ?? { like: hash, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  let best: { like: StoredHash; count: number } | undefined;
  for (const entry of counts.values()) {
    if (!best || entry.count > best.count || (entry.count === best.count && entry.like.cost > best.like.cost)) {
      best = entry;
    }
  }
  return best?.like;
}
