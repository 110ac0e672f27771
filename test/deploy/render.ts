// Renders the repository's manifests with the real tools (helm, kubectl kustomize) and
// validates them with kubeconform against the vendored Kubernetes schemas, offline.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CHART = join(REPO, 'deploy/helm/auth-sidecar');
const SCHEMAS = join(REPO, 'test/deploy/kubernetes-schemas');

/** Every Kubernetes version the schemas were vendored for (oldest first). */
export const KUBERNETES_VERSIONS = readdirSync(SCHEMAS)
  .map((dir) => /^v(\d+\.\d+\.\d+)-standalone-strict$/.exec(dir)?.[1])
  .filter((v): v is string => v !== undefined)
  .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

const INSTALL_HINTS: Record<string, string> = {
  helm: 'go install helm.sh/helm/v3/cmd/helm@v3.22.0 (scripts/test-deps.sh does it)',
  kubeconform: 'go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0 (scripts/test-deps.sh does it)',
  kubectl: 'install kubectl',
  actionlint: 'go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 (scripts/test-deps.sh does it)',
};

/** A tool from $PATH or Go's bin folder; a missing one fails the test with how to get it. */
export function tool(name: 'helm' | 'kubeconform' | 'kubectl' | 'actionlint'): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin')];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new Error(`${name} is not installed: ${INSTALL_HINTS[name]}`);
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], input?: string): RunResult {
  const result = spawnSync(command, args, { cwd: REPO, encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function mustRun(command: string, args: string[]): string {
  const result = run(command, args);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const rendered = new Map<string, string>();

/** A render's output, run once per test file (the files do not change during a run). */
function renderOnce(command: string, args: string[]): string {
  const key = JSON.stringify([command, args]);
  let text = rendered.get(key);
  if (text === undefined) {
    text = mustRun(command, args);
    rendered.set(key, text);
  }
  return text;
}

/** `helm template` with the given values files and flags; the text it printed. */
export function helmTemplate(args: string[], kubeVersion = KUBERNETES_VERSIONS[0] ?? ''): string {
  return renderOnce(tool('helm'), ['template', 'demo', CHART, '--kube-version', kubeVersion, ...args]);
}

/** The error helm printed for values it refused. */
export function helmTemplateError(args: string[], kubeVersion = KUBERNETES_VERSIONS[0] ?? ''): string {
  const result = run(tool('helm'), ['template', 'demo', CHART, '--kube-version', kubeVersion, ...args]);
  if (result.status === 0) throw new Error(`helm template ${args.join(' ')} succeeded; expected a refusal`);
  return result.stderr;
}

export function helmLint(args: string[]): RunResult {
  return run(tool('helm'), ['lint', CHART, '--strict', ...args]);
}

export function kustomize(dir: string): string {
  return renderOnce(tool('kubectl'), ['kustomize', join(REPO, dir)]);
}

export interface Validation {
  valid: boolean;
  /** One line per object that is not valid (or whose kind has no schema). */
  problems: string[];
  checked: number;
}

/** kubeconform in strict mode against the vendored schemas of one Kubernetes version. */
export function validate(manifests: string, kubeVersion: string): Validation {
  const result = run(
    tool('kubeconform'),
    [
      '-strict',
      '-output',
      'json',
      '-summary',
      '-kubernetes-version',
      kubeVersion,
      '-schema-location',
      SCHEMAS,
      '-schema-location',
      `${SCHEMAS}/crds/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-',
    ],
    manifests,
  );
  const report = JSON.parse(result.stdout) as {
    resources?: { kind: string; name: string; status: string; msg: string }[];
    summary: { valid: number };
  };
  const problems = (report.resources ?? [])
    .filter((r) => r.status !== 'statusValid')
    .map((r) => `${r.kind} ${r.name}: ${r.status} ${r.msg}`);
  return { valid: result.status === 0 && problems.length === 0, problems, checked: report.summary.valid };
}
