// The Helm chart's schema for `config.routes[]`, generated from the sidecar's own zod schema,
// so that a typo in a route (`alow`) fails `helm lint`/`helm install` at once instead of when
// the pod starts. `node scripts/chart-schema.ts --write` rewrites it in values.schema.json;
// test/deploy/manifests.test.ts fails when the two drift apart. (Rules zod checks in code, such
// as a glob's shape, stay the sidecar's: check-config and start-up report them.)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../src/config/schema.ts';

export const VALUES_SCHEMA = new URL('../deploy/helm/auth-sidecar/values.schema.json', import.meta.url);

/** A route's JSON Schema (draft 7, as Helm reads it), without defaults: the sidecar fills them. */
export function routeSchema(): unknown {
  const list = z.toJSONSchema(configSchema.shape.routes, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
  return withoutDefaults((list as { items: unknown }).items);
}

function withoutDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDefaults);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => key !== 'default' && key !== '$schema')
      .map(([key, value]) => [key, withoutDefaults(value)]),
  );
}

/** The `route` definition values.schema.json holds now. */
export function chartRouteSchema(): unknown {
  return (JSON.parse(readFileSync(VALUES_SCHEMA, 'utf8')) as { definitions: Record<string, unknown> }).definitions
    .route;
}

if (process.argv[2] === '--write') {
  const schema = JSON.parse(readFileSync(VALUES_SCHEMA, 'utf8')) as { definitions: Record<string, unknown> };
  schema.definitions.route = routeSchema();
  writeFileSync(VALUES_SCHEMA, JSON.stringify(schema, null, 2));
  const biome = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));
  execFileSync(biome, ['format', '--write', fileURLToPath(VALUES_SCHEMA)], { stdio: 'ignore' });
}
