// Parses a groups file (Apache's AuthGroupFile format: `group: user1 user2`, one group per line,
// a group may span several lines, `#` comments and blank lines ignored) into each user's groups.
// Group names become X-Forwarded-Groups, a comma-separated header: names with commas or
// whitespace are refused, and so is any the app would not receive exactly (see identity.ts).
import { unsendable } from '../identity.ts';
import type { LineProblem, NumberedLine } from './htpasswd.ts';

export interface ParsedGroups {
  /** User name → its groups, in the order the file first names them. */
  readonly groupsOf: ReadonlyMap<string, readonly string[]>;
  readonly problems: readonly LineProblem[];
}

const GROUP_NAME = /^[^\s,:]+$/;

export function parseGroupsFile(lines: Iterable<NumberedLine>): ParsedGroups {
  const groupsOf = new Map<string, string[]>();
  const problems: LineProblem[] = [];
  for (const { number, text } of lines) {
    const colon = text.indexOf(':');
    if (colon < 0) {
      problems.push({ line: number, reason: 'expected "group: user1 user2"' });
      continue;
    }
    const group = text.slice(0, colon).trim();
    if (!GROUP_NAME.test(group)) {
      problems.push({ line: number, reason: 'the group name must be non-empty, without spaces, commas or colons' });
      continue;
    }
    const problem = unsendable(group);
    if (problem !== undefined) {
      problems.push({ line: number, reason: `the group name has ${problem}` });
      continue;
    }
    for (const user of text.slice(colon + 1).split(/\s+/)) {
      if (user === '') continue;
      const groups = groupsOf.get(user) ?? [];
      if (!groups.includes(group)) groups.push(group);
      groupsOf.set(user, groups);
    }
  }
  return { groupsOf, problems };
}
