#!/usr/bin/env node
// The `auth-sidecar` command. It checks the Node.js version first and only then loads the CLI
// (cli-main.ts): on an older Node a dependency would fail while loading, before a word of use.
import { unsupportedNode } from './version.ts';

const problem = unsupportedNode();
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
await import('./cli-main.ts');
