import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { unsupportedNode, version } from './version.ts';

describe('version', () => {
  it('is package.json’s', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version()).toBe(pkg.version);
  });
});

describe('unsupportedNode', () => {
  it('accepts Node 24 and later, the one this runs on included', () => {
    expect(unsupportedNode()).toBeUndefined();
    expect(unsupportedNode('24.0.0')).toBeUndefined();
    expect(unsupportedNode('26.1.0')).toBeUndefined();
  });

  it('says in one line which Node to use, and how, on an older one', () => {
    expect(unsupportedNode('20.20.2')).toBe(
      'auth-sidecar needs Node.js 24; this is Node.js 20.20.2. In a checkout, run "npx auth-sidecar" (npm ci brings Node 24 into node_modules/.bin); elsewhere, install Node.js 24.',
    );
  });
});
