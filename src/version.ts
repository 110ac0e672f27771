// The package's version, read once from package.json (`--version`, the build_info metric).
import { existsSync, readFileSync } from 'node:fs';

let cached: string | undefined;

export function version(): string {
  cached ??= readVersion();
  return cached;
}

/** From the package.json above this module: beside src/, or above dist/ and its chunks/. */
function readVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    const file = new URL(up, import.meta.url);
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
    if (pkg.name === 'auth-sidecar') return pkg.version;
  }
  throw new Error('auth-sidecar: its package.json is missing');
}

/** The Node.js major version the sidecar is built and tested on (package.json engines). */
const NODE_MAJOR = 24;

/**
 * Why this Node.js cannot run the sidecar, or undefined when it can. A checkout brings its own
 * Node 24 (the node@24 devDependency, in node_modules/.bin), which `npx auth-sidecar` and every
 * npm script use; an older system Node reached directly (`node dist/cli.js`) gets one line
 * saying so instead of a failure somewhere inside.
 */
export function unsupportedNode(running: string = process.versions.node): string | undefined {
  const major = Number(running.split('.')[0]);
  if (major >= NODE_MAJOR) return undefined;
  return (
    `auth-sidecar needs Node.js ${NODE_MAJOR}; this is Node.js ${running}. In a checkout, run ` +
    `"npx auth-sidecar" (npm ci brings Node ${NODE_MAJOR} into node_modules/.bin); elsewhere, install Node.js ${NODE_MAJOR}.`
  );
}
