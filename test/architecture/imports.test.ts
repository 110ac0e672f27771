// The folders of src/ are floors: an import runs from a floor to one below it (or within its
// own folder), never back up, and no module imports itself through others. Read from the
// source, so a new arrow that runs the wrong way fails here before it tangles the code.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

/** Files at the top of src/ that belong to the bottom floor: everything may name them. */
const BOTTOM_FILES = ['errors.ts', 'auth-methods.ts', 'version.ts'];

/** Top to bottom. A folder may import only folders further down this list (or itself). */
const FLOORS: readonly (readonly string[])[] = [
  ['(root)', 'lifecycle'], // commands, wiring, the pipeline, the composition root
  ['endpoints'], // the Koa handlers of {pathPrefix}/*
  ['http'], // the pipeline's steps: context, facts, rendering, admin listener
  ['decision'], // the one decision, and the Runtime it reads
  ['oidc', 'upstream', 'identity-token', 'tls'], // browser login and sessions; forwarding to the app; its identity token; the listener's TLS files
  ['authz'], // route table and allow rules
  ['authn'], // identities, JWT and basic authenticators
  ['sessions'], // the session store contract and its backends
  ['config', 'observability'], // the schema and loader; logger and metrics
  ['net', ...BOTTOM_FILES], // addresses, paths, cookies, raw headers; error codes, method names, version
];

function floorOf(file: string): number {
  const path = relative(SRC, file);
  const folder = path.includes('/') ? (path.split('/')[0] as string) : BOTTOM_FILES.includes(path) ? path : '(root)';
  const floor = FLOORS.findIndex((names) => names.includes(folder));
  if (floor === -1) throw new Error(`src/${path}: its folder is on no floor; add it to FLOORS`);
  return floor;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC);
const imports = new Map(
  files.map((file) => {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)[^;]*?from '(\.[^']+)'/gms)].map((m) =>
      normalize(join(dirname(file), m[1] as string)),
    );
    return [file, targets] as const;
  }),
);

describe('the import graph of src/', () => {
  it('reads the source', () => {
    expect(files.length).toBeGreaterThan(50);
    expect([...imports.values()].flat().length).toBeGreaterThan(200);
  });

  it('runs from each floor only to the floors below it', () => {
    const upward: string[] = [];
    for (const [file, targets] of imports) {
      for (const target of targets) {
        if (floorOf(target) < floorOf(file)) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no circle of imports', () => {
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const target of imports.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
  });
});
