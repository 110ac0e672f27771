// Turns a rendered Deployment into what LocalPod runs: each container's process as Kubernetes
// would start it from its image (ENTRYPOINT/CMD/ENV/WORKDIR read from the repository's
// Dockerfile, overridden by the manifest's command/args/env), and each volume's files at the
// mount path the manifest names, from the ConfigMaps and Secrets given.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { environment, execForm, finalStage, last, parseDockerfile } from './dockerfile.ts';
import type { Mount, ProcessSpec } from './local-pod.ts';
import { type K8sObject, REPO } from './render.ts';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  restartPolicy?: string;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  ports?: { name?: string; containerPort: number }[];
  [key: string]: unknown;
}

interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[]; optional?: boolean };
  secret?: { secretName: string; items?: { key: string; path: string }[]; optional?: boolean };
  emptyDir?: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  [key: string]: unknown;
}

export interface PodPlan {
  mounts: Mount[];
  /** Container name → its process. */
  processes: Map<string, ProcessSpec>;
}

/** The images this repository builds, and the folder each one's WORKDIR holds. */
const IMAGES: Record<string, { dockerfile: string; context: string }> = {
  'auth-sidecar': { dockerfile: 'Dockerfile', context: REPO },
  'auth-sidecar-flask-example': { dockerfile: 'examples/flask/Dockerfile', context: join(REPO, 'examples/flask') },
};

export function podSpecOf(deployment: K8sObject): PodSpec {
  const spec = (deployment.spec as { template: { spec: PodSpec } } | undefined)?.template.spec;
  if (!spec) throw new Error(`${deployment.kind} ${deployment.metadata.name} has no pod template`);
  return spec;
}

/** Regular containers and native sidecars (init containers with restartPolicy Always). */
export function runningContainers(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'), ...pod.containers];
}

export function container(pod: PodSpec, name: string): Container {
  const found = runningContainers(pod).find((c) => c.name === name);
  if (!found) throw new Error(`the pod has no container ${name}`);
  return found;
}

export function planPod(pod: PodSpec, objects: K8sObject[]): PodPlan {
  const processes = new Map<string, ProcessSpec>();
  const mounts = new Map<string, Mount>();
  for (const c of runningContainers(pod)) {
    processes.set(c.name, processOf(c, objects));
    for (const volumeMount of c.volumeMounts ?? []) {
      const volume = pod.volumes?.find((v) => v.name === volumeMount.name);
      if (!volume) throw new Error(`container ${c.name} mounts ${volumeMount.name}, which the pod does not declare`);
      const mount = {
        path: volumeMount.mountPath,
        readOnly: volumeMount.readOnly ?? false,
        ...volumeFiles(volume, objects),
      };
      const earlier = mounts.get(mount.path);
      if (earlier && JSON.stringify(earlier) !== JSON.stringify(mount)) {
        throw new Error(`two containers mount different volumes at ${mount.path}: one local pod cannot`);
      }
      mounts.set(mount.path, mount);
    }
  }
  return { mounts: [...mounts.values()], processes };
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

/** A Secret's or ConfigMap's entries as text. */
export function entries(object: K8sObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries((object.data ?? {}) as Record<string, string>)) {
    out[key] = object.kind === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value;
  }
  return { ...out, ...((object.stringData ?? {}) as Record<string, string>) };
}

function volumeFiles(volume: Volume, objects: K8sObject[]): { files?: Record<string, string> } {
  if (volume.emptyDir !== undefined) return {};
  const source = volume.configMap
    ? { kind: 'ConfigMap', ...volume.configMap }
    : volume.secret
      ? { kind: 'Secret', name: volume.secret.secretName, items: volume.secret.items, optional: volume.secret.optional }
      : undefined;
  if (!source) throw new Error(`volume ${volume.name}: only configMap, secret and emptyDir are supported here`);
  const object = find(objects, source.kind, source.name);
  if (!object) {
    if (source.optional) return { files: {} };
    throw new Error(`volume ${volume.name}: ${source.kind} ${source.name} does not exist (the pod would not start)`);
  }
  const data = entries(object);
  if (!source.items) return { files: data };
  return { files: Object.fromEntries(source.items.map((item) => [item.path, data[item.key] ?? ''])) };
}

function processOf(c: Container, objects: K8sObject[]): ProcessSpec {
  // ghcr.io/auth-sidecar/auth-sidecar:0.2.0 (published by the release workflow), or a local tag.
  const repository =
    c.image
      .replace(/[:@][^/]*$/, '')
      .split('/')
      .at(-1) ?? '';
  const image = IMAGES[repository];
  if (!image) throw new Error(`container ${c.name}: image ${c.image} is not built from this repository`);
  const stage = finalStage(parseDockerfile(readFileSync(join(REPO, image.dockerfile), 'utf8')));
  const workdir = last(stage, 'WORKDIR')?.rest ?? '/';
  const entrypoint = execForm(last(stage, 'ENTRYPOINT')?.rest ?? '[]') ?? [];
  const cmd = execForm(last(stage, 'CMD')?.rest ?? '[]') ?? [];
  // Kubernetes: command replaces ENTRYPOINT (and drops CMD), args replace CMD.
  const argv = c.command ? [...c.command, ...(c.args ?? [])] : [...entrypoint, ...(c.args ?? cmd)];
  const local = (arg: string) =>
    arg === workdir || arg.startsWith(`${workdir}/`) ? join(image.context, arg.slice(workdir.length)) : arg;
  const [program = '', ...rest] = argv.map(local);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...environment(stage) };
  for (const variable of c.env ?? []) env[variable.name] = envValue(variable, objects);
  return { argv: [executable(program), ...rest], env, cwd: image.context };
}

function envValue(variable: EnvVar, objects: K8sObject[]): string {
  if (variable.value !== undefined) return variable.value;
  const secret = variable.valueFrom?.secretKeyRef;
  const configMap = variable.valueFrom?.configMapKeyRef;
  const ref = secret ? { kind: 'Secret', ...secret } : configMap ? { kind: 'ConfigMap', ...configMap } : undefined;
  const object = ref && find(objects, ref.kind, ref.name);
  const value = object && ref ? entries(object)[ref.key] : undefined;
  if (value === undefined) throw new Error(`env ${variable.name}: its source does not exist`);
  return value;
}

/** The image's interpreters, as found on this machine. */
function executable(program: string): string {
  if (program === 'node') return process.execPath;
  if (program === 'python' || program === 'python3') return pythonWithFlask();
  return program;
}

let python: string | undefined;

/** A Python that has Flask (the image installs it from requirements.txt; CI from Debian). */
export function pythonWithFlask(): string {
  if (python) return python;
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const result = spawnSync(candidate, ['-c', 'import flask, sys; print(sys.executable)'], { encoding: 'utf8' });
    if (result.status === 0) {
      python = result.stdout.trim();
      return python;
    }
  }
  throw new Error(
    'no python3 with Flask: pip install -r examples/flask/requirements.txt (scripts/test-deps.sh does it)',
  );
}
