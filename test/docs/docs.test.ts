// The documentation as a whole: the configuration reference is generated from the schema and
// describes every key, and every relative link of the README and docs/ leads somewhere (a
// file that exists, and a heading that exists when the link names one), so that moving text
// between pages cannot leave a dead link behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { END, referenceTable, START, schemaKeys } from '../../scripts/config-reference.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] as string)));
}

describe('docs/configuration.md', () => {
  const doc = read('docs/configuration.md');

  it('carries the configuration reference generated from the schema', () => {
    const section = doc.slice(doc.indexOf(START) + START.length, doc.indexOf(END)).trim();
    expect(doc.indexOf(START), 'docs/configuration.md has the reference markers').toBeGreaterThan(-1);
    expect(section, 'run: node scripts/config-reference.ts --write').toBe(referenceTable());
  });

  it('describes every configuration key', () => {
    const undescribed = schemaKeys()
      .filter((row) => row.description === '')
      .map((row) => row.key);
    expect(undescribed).toEqual([]);
  });
});

describe('links', () => {
  it('finds the pages', () => {
    expect(PAGES).toEqual(expect.arrayContaining(['README.md', 'docs/configuration.md', 'docs/operations.md']));
  });

  for (const page of PAGES) {
    it(`${page}: every relative link leads to a file and heading that exist`, () => {
      const text = read(page).replace(/```[\s\S]*?```/g, '');
      const broken: string[] = [];
      for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [path = '', anchor] = target.split('#');
        const file = path === '' ? page : join(dirname(page), path);
        if (!existsSync(join(ROOT, file))) {
          broken.push(`${target}: no ${file}`);
          continue;
        }
        if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(read(file)).has(anchor)) {
          broken.push(`${target}: no heading #${anchor} in ${file}`);
        }
      }
      expect(broken).toEqual([]);
    });
  }
});
