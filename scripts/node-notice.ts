// Run after `npm ci` (postinstall): when npm itself runs on an older Node than the project's,
// say once which Node the project uses, instead of the EBADENGINE blocks npm would print for
// every package (.npmrc keeps npm to errors). Prints nothing when npm runs on Node 24 or later.
import { unsupportedNode } from '../src/version.ts';

const npmNode = /\bnode\/v(\d+\.\d+\.\d+)/.exec(process.env.npm_config_user_agent ?? '')?.[1];
if (npmNode !== undefined && unsupportedNode(npmNode) !== undefined) {
  console.log(
    `auth-sidecar: npm runs on Node.js ${npmNode}; this project brings its own Node.js ${process.versions.node} ` +
      '(node_modules/.bin/node), and every npm script and "npx auth-sidecar" run on it. ' +
      'Outside npm, use Node.js 24.',
  );
}
