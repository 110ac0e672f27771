// The glob language of `routes[].path`, on normalized paths: `*` within one segment, `**` any
// number of segments (`/x/**` matches `/x` too), everything else literal and case-sensitive
// (unless the table is made case-insensitive). A trailing slash never matters, on the glob or
// on the path. Globs that could never match a normalized path are config errors.

export function matchKey(path: string, caseInsensitive: boolean): string {
  const key = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return caseInsensitive ? key.toLowerCase() : key;
}

/**
 * Why a glob can never match a normalized path (or is ambiguous), or undefined when it is fine.
 * Globs are written in the decoded form that rules see.
 */
export function globProblem(glob: string): string | undefined {
  if (!glob.startsWith('/')) return 'must start with "/"';
  if (glob.includes('?')) return 'must not contain a query; routes never see the query';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\x00-\x1f\x7f\\]/.test(glob)) return 'must not contain control characters or "\\"';
  if (glob.includes('%')) return 'must be written decoded (rules see "/a b", not "/a%20b")';
  if (glob.includes(';')) return 'must not contain ";": rules never see path parameters';
  const segments = (glob.length > 1 && glob.endsWith('/') ? glob.slice(0, -1) : glob).split('/').slice(1);
  if (glob !== '/' && segments.some((s) => s === '')) return 'must not contain empty segments ("//")';
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments';
  if (segments.some((s) => s.includes('**') && s !== '**')) return '"**" must be a whole segment';
  return undefined;
}

/** A compiled glob: whether a path, as pathSegments gives it, matches. */
export type GlobMatcher = (segments: readonly string[]) => boolean;

/** A normalized path (no query) as globs see it: its segments, trailing slash ignored. */
export function pathSegments(path: string, caseInsensitive = false): string[] {
  return segmentsOf(matchKey(path, caseInsensitive));
}

type SegmentToken = { readonly any: true } | { readonly any: false; readonly matches: (segment: string) => boolean };

/**
 * `*` matches within one segment, `**` any number of segments (so `/x/**` matches `/x`
 * itself); every other character is literal. A trailing slash on the glob is ignored, as it
 * is on the path. Matching takes time proportional to path length times glob length: a
 * regular expression for a glob with three `**` took seconds on a 4 KB path (polynomial
 * backtracking), which any client can send.
 */
export function compileGlob(glob: string, caseInsensitive = false): GlobMatcher {
  const tokens = segmentsOf(matchKey(glob, caseInsensitive)).map(segmentToken);
  return (segments) =>
    wildcardMatch(
      segments,
      tokens,
      (token) => token.any,
      (token, segment) => !token.any && token.matches(segment),
    );
}

function segmentsOf(key: string): string[] {
  return key === '/' ? [] : key.split('/').slice(1);
}

function segmentToken(segment: string): SegmentToken {
  if (segment === '**') return { any: true };
  if (!segment.includes('*')) return { any: false, matches: (s) => s === segment };
  if (segment === '*') return { any: false, matches: (s) => s !== '' };
  // Within a segment, `*` is any run of characters: the same matching, one character per item.
  const chars = [...segment].map((c) => (c === '*' ? ANY_CHARS : c));
  return {
    any: false,
    matches: (s) =>
      wildcardMatch(
        [...s],
        chars,
        (c) => c === ANY_CHARS,
        (c, char) => c === char,
      ),
  };
}

const ANY_CHARS = Symbol('any characters');

/**
 * Whether `items` match `pattern`, where a token for which `isAny` holds stands for any run of
 * items, including none, and every other token for one item (`one` says whether it matches).
 * Greedy with one resumption point: the classic wildcard algorithm, O(items × pattern).
 */
function wildcardMatch<I, P>(
  items: readonly I[],
  pattern: readonly P[],
  isAny: (token: P) => boolean,
  one: (token: P, item: I) => boolean,
): boolean {
  let i = 0;
  let j = 0;
  let resumeToken = -1;
  let resumeItem = 0;
  while (i < items.length) {
    const token = pattern[j];
    if (j < pattern.length && isAny(token as P)) {
      resumeToken = j++;
      resumeItem = i;
    } else if (j < pattern.length && one(token as P, items[i] as I)) {
      i++;
      j++;
    } else if (resumeToken !== -1) {
      j = resumeToken + 1;
      i = ++resumeItem;
    } else {
      return false;
    }
  }
  while (j < pattern.length && isAny(pattern[j] as P)) j++;
  return j === pattern.length;
}
