// Parses an htpasswd file (Apache's AuthUserFile format: `user:hash`, one per line, `#`
// comments and blank lines ignored). Every line that cannot be used is reported with its
// number, so that a broken file is refused whole instead of half-loaded; a reason never
// quotes the hash.
import { unsendable } from '../identity.ts';
import { recogniseHash, type StoredHash } from './password-hash.ts';

export interface NumberedLine {
  /** 1-based, as an editor shows it. */
  readonly number: number;
  readonly text: string;
}

export interface LineProblem {
  readonly line: number;
  readonly reason: string;
}

export interface ParsedHtpasswd {
  readonly users: ReadonlyMap<string, StoredHash>;
  readonly problems: readonly LineProblem[];
}

export function parseHtpasswd(lines: Iterable<NumberedLine>): ParsedHtpasswd {
  const users = new Map<string, StoredHash>();
  const definedOn = new Map<string, number>();
  const problems: LineProblem[] = [];
  for (const { number, text } of lines) {
    const colon = text.indexOf(':');
    if (colon < 0) {
      problems.push({ line: number, reason: 'expected "user:hash"' });
      continue;
    }
    const user = text.slice(0, colon);
    // Apache reads the hash up to the next colon; anything after it is a free-form comment.
    const stored = text.slice(colon + 1).split(':', 1)[0] as string;
    const problem = checkUser(user, definedOn);
    if (problem) {
      problems.push({ line: number, reason: problem });
      continue;
    }
    const recognised = recogniseHash(stored);
    if ('refused' in recognised) {
      problems.push({ line: number, reason: `user "${user}": ${recognised.refused}` });
      continue;
    }
    users.set(user, recognised.hash);
    definedOn.set(user, number);
  }
  return { users, problems };
}

function checkUser(user: string, definedOn: ReadonlyMap<string, number>): string | undefined {
  if (user === '') return 'the user name is empty';
  // The name becomes X-Forwarded-User: one the app would receive changed is refused.
  const problem = unsendable(user);
  if (problem !== undefined) return `the user name has ${problem}`;
  const earlier = definedOn.get(user);
  // Apache would take the first line and ignore the rest: refused, so that nobody edits a
  // line that has no effect.
  if (earlier !== undefined) return `user "${user}" is already defined on line ${earlier}`;
  return undefined;
}
