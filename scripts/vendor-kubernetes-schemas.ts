// Regenerates the JSON schemas that test/deploy validates every rendered manifest against, so
// that the check needs no download at test time. The sources are the Kubernetes OpenAPI
// document (api/openapi-spec/swagger.json in the k8s.io/kubernetes Go module) and the
// CRDs of the custom kinds the chart renders, ServiceMonitor (prometheus-operator) and HTTPRoute
// (Gateway API), each from its project's Go module, fetched with `go mod download`.
// The output follows kubeconform's layout and its "standalone-strict" flavour: one
// self-contained file per kind, unknown fields refused.
//
//   node scripts/vendor-kubernetes-schemas.ts          # everything
//   node scripts/vendor-kubernetes-schemas.ts crds     # the CRD schemas only
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The oldest Kubernetes the chart supports (native sidecars) and the newest release. */
const KUBERNETES_VERSIONS = ['1.29.6', '1.36.3'];
/** The custom kinds: where each CRD is in its Go module, and the version to validate. */
const CRDS = [
  {
    module: 'github.com/prometheus-operator/prometheus-operator',
    version: 'v0.85.0',
    file: 'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml',
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
  },
  {
    module: 'sigs.k8s.io/gateway-api',
    version: 'v1.4.1',
    file: 'config/crd/standard/gateway.networking.k8s.io_httproutes.yaml',
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
  },
];
const OUT = new URL('../test/deploy/kubernetes-schemas/', import.meta.url).pathname;

/** Every kind the chart, the kustomize tree and the examples render. */
const KINDS = [
  'v1/ConfigMap',
  'v1/Secret',
  'v1/Service',
  'v1/ServiceAccount',
  'v1/Pod',
  'apps/v1/Deployment',
  'policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/NetworkPolicy',
  'networking.k8s.io/v1/Ingress',
];

type Schema = { [key: string]: unknown };
const REF_PREFIX = '#/definitions/';

function goModuleDir(module: string, version: string): string {
  const out = execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], { encoding: 'utf8' });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

/** kubeconform's file name: `{{ .ResourceKind }}{{ .KindSuffix }}.json`. */
function fileName(apiVersion: string, kind: string): string {
  const parts = apiVersion.split('/');
  const group = parts.length > 1 ? (parts[0] ?? '').split('.')[0] : undefined;
  const version = parts[parts.length - 1];
  return `${kind.toLowerCase()}${group ? `-${group}` : ''}-${version}.json`;
}

/** Descriptions go (size); objects with declared properties refuse any other property (strict). */
function tighten(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tighten);
  if (typeof node !== 'object' || node === null) return node;
  const schema = node as Schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description' || key.startsWith('x-kubernetes-') || key === 'default') continue;
    out[key] = key === 'properties' ? mapValues(value as Schema, tighten) : tighten(value);
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  const preserves = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties !== undefined && out.additionalProperties === undefined && !preserves) {
    out.additionalProperties = false;
  }
  return out;
}

function mapValues(record: Schema, fn: (value: unknown) => unknown): Schema {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]));
}

/** Swagger 2 types that YAML writes either way (`port: 8080` or `port: http`, `cpu: 1`). */
function normalizeDefinitions(definitions: Record<string, Schema>): Record<string, Schema> {
  const out = mapValues(definitions, tighten) as Record<string, Schema>;
  out['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = { anyOf: [{ type: 'integer' }, { type: 'string' }] };
  out['io.k8s.apimachinery.pkg.api.resource.Quantity'] = { anyOf: [{ type: 'string' }, { type: 'number' }] };
  return out;
}

function referencedDefinitions(root: string, definitions: Record<string, Schema>): Set<string> {
  const seen = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node === 'object' && node !== null) {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX)) {
          const name = value.slice(REF_PREFIX.length);
          if (!seen.has(name)) {
            seen.add(name);
            visit(definitions[name]);
          }
        } else visit(value);
      }
    }
  };
  seen.add(root);
  visit(definitions[root]);
  return seen;
}

function kindSchema(apiVersion: string, kind: string, definitions: Record<string, Schema>): Schema {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const name = Object.keys(definitions).find((key) => {
    const gvks = (definitions[key]?.['x-kubernetes-group-version-kind'] ?? []) as Schema[];
    return gvks.some((g) => g.group === group && g.version === version && g.kind === kind);
  });
  if (name === undefined) throw new Error(`no definition for ${apiVersion} ${kind}`);
  const strict = normalizeDefinitions(definitions);
  const closure = [...referencedDefinitions(name, strict)].sort();
  return withIdentity(strict[name] as Schema, apiVersion, kind, {
    definitions: Object.fromEntries(closure.map((key) => [key, strict[key]])),
  });
}

/** The kind's own schema at the top, `apiVersion` and `kind` pinned, required. */
function withIdentity(schema: Schema, apiVersion: string, kind: string, extra: Schema): Schema {
  const properties = { ...(schema.properties as Schema) };
  properties.apiVersion = { type: 'string', enum: [apiVersion] };
  properties.kind = { type: 'string', enum: [kind] };
  const required = [...new Set([...((schema.required as string[] | undefined) ?? []), 'apiVersion', 'kind'])];
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...schema, properties, required, ...extra };
}

function write(dir: string, file: string, schema: Schema): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
}

function vendorKubernetes(version: string): void {
  const dir = goModuleDir('k8s.io/kubernetes', `v${version}`);
  const swagger = JSON.parse(readFileSync(join(dir, 'api/openapi-spec/swagger.json'), 'utf8')) as {
    definitions: Record<string, Schema>;
  };
  const outDir = join(OUT, `v${version}-standalone-strict`);
  for (const entry of KINDS) {
    const kind = entry.slice(entry.lastIndexOf('/') + 1);
    const apiVersion = entry.slice(0, entry.lastIndexOf('/'));
    write(outDir, fileName(apiVersion, kind), kindSchema(apiVersion, kind, swagger.definitions));
  }
}

function vendorCrd(crd: (typeof CRDS)[number]): void {
  const dir = goModuleDir(crd.module, crd.version);
  const document = parseYaml(readFileSync(join(dir, crd.file), 'utf8')) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
  };
  const version = crd.apiVersion.split('/')[1];
  const served = document.spec.versions.find((v) => v.name === version);
  if (!served) throw new Error(`the ${crd.kind} CRD has no ${version}`);
  const schema = tighten(served.schema.openAPIV3Schema) as Schema;
  write(join(OUT, 'crds'), fileName(crd.apiVersion, crd.kind), withIdentity(schema, crd.apiVersion, crd.kind, {}));
}

if (process.argv[2] !== 'crds') {
  for (const version of KUBERNETES_VERSIONS) {
    rmSync(join(OUT, `v${version}-standalone-strict`), { recursive: true, force: true });
    vendorKubernetes(version);
  }
}
for (const crd of CRDS) vendorCrd(crd);
// In the repository's own JSON style, so that `npm run lint` accepts the files as written.
execFileSync('npx', ['biome', 'format', '--write', OUT], { stdio: 'inherit' });
console.log(`schemas written to ${OUT}`);
