// The README is part of the product: its commands, its examples and its configuration
// reference must match what the code does.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { END, referenceTable, START, schemaKeys } from '../../scripts/config-reference.ts';
import { configSchema, SECRET_KEYS } from '../../src/config/schema.ts';

/** The loader reads `xFile` secrets; the files of an example do not exist, so stand in for them. */
function withSecretsInline(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withSecretsInline);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => {
      const secret = key.endsWith('File') ? key.slice(0, -4) : '';
      if (SECRET_KEYS.has(secret)) return [secret, 'a-stand-in-secret-of-at-least-32-bytes'];
      return [key, withSecretsInline(value)];
    }),
  );
}

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('opens with the two commands: the demo and the whole test suite', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
    expect(README.indexOf('```sh')).toBeLessThan(README.indexOf('\n## '));
    const commands = firstBlock.split('\n').filter((l) => l.trim() !== '');
    expect(commands[0]).toMatch(/^npm ci && npm run demo\b/);
    expect(commands[1]).toMatch(/^npm ci && npm test\b/);
    const scripts = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).scripts;
    expect(scripts.demo).toBeDefined();
    expect(scripts.test).toContain('vitest run');
  });

  it('carries the configuration reference generated from the schema', () => {
    const section = README.slice(README.indexOf(START) + START.length, README.indexOf(END)).trim();
    expect(section, 'run: node scripts/config-reference.ts --write').toBe(referenceTable());
  });

  it('describes every configuration key', () => {
    const undescribed = schemaKeys()
      .filter((row) => row.description === '')
      .map((row) => row.key);
    expect(undescribed).toEqual([]);
  });

  it('shows only configs the schema accepts', () => {
    const blocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const result = configSchema.safeParse(withSecretsInline(parse(block)));
      expect(result.error?.issues ?? [], block).toEqual([]);
    }
  });
});
