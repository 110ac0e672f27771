// The production build, `npm run build`: the sidecar and the packages it runs with, bundled
// and minified into dist/ by esbuild. dist/cli.js is a small entry (it checks the Node version
// before anything else loads); the rest is one shared chunk, and
// what a config may not use (Redis, OpenID Connect, WebSockets, bcrypt) is split into chunks
// that load only when a config or a request needs them. A sidecar runs in every pod: the
// bundle loads ~60 % less code than node_modules would, and that is memory in every replica
// (measured in the commit that introduced this build; docs/performance.md).
// Type-checking is `npm run typecheck`; esbuild only strips the types.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const OUT = new URL('../dist/', import.meta.url);

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
await build({
  entryPoints: [new URL('../src/cli.ts', import.meta.url).pathname],
  outdir: OUT.pathname,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minifyWhitespace: true,
  minifySyntax: true,
  // `--readable` keeps the names, for a CPU profile one can read (docs/performance.md).
  minifyIdentifiers: !process.argv.includes('--readable'),
  // No keepNames: it wraps every closure made per request in a call that sets its name (5 % of a
  // request's CPU in a profile). The error classes spell their names out (errors.ts).
  legalComments: 'none',
  sourcemap: 'linked',
  sourcesContent: false,
  // A native addon cannot be bundled: it is loaded from node_modules, when basic auth needs it.
  external: ['@node-rs/bcrypt'],
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
chmodSync(new URL('cli.js', OUT), 0o755);
