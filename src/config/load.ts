// Turns a YAML file plus AUTH_SIDECAR_* variables plus secret files into a validated, frozen
// Config, or a ConfigError that lists every problem at once as `config: key.path: reason`.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { type EnvOverride, readEnvOverrides } from './env.ts';
import { type Config, configSchema, SECRET_KEYS } from './schema.ts';
import { keysAt, leafTypesAt, type Schema } from './schema-shape.ts';
import { nearest } from './suggest.ts';

const schema = configSchema as unknown as Schema;

export interface LoadedConfig {
  config: Config;
  /** Every file the config depends on (itself, keys, htpasswd, secrets): reload when one changes. */
  files: string[];
}

export interface LoadOptions {
  /** The YAML file; without it the config comes from the environment alone. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

type Path = (string | number)[];
type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const formatPath = (path: readonly PropertyKey[]): string => (path.length === 0 ? '(root)' : path.join('.'));

/** Collects problems; every step adds to it instead of stopping at the first. */
class Problems {
  readonly lines: string[] = [];
  /** Where a key's value came from, when not from the file: shown after the reason. */
  readonly sources = new Map<string, string>();

  add(path: readonly PropertyKey[], reason: string): void {
    const source = this.sourceOf(path);
    this.lines.push(`config: ${formatPath(path)}: ${reason}${source ? ` (from ${source})` : ''}`);
  }

  private sourceOf(path: readonly PropertyKey[]): string | undefined {
    for (let length = path.length; length > 0; length--) {
      const source = this.sources.get(formatPath(path.slice(0, length)));
      if (source) return source;
    }
    // An unknown key that only a variable made (AUTH_SIDECAR_UPSTREM__URL made `upstrem`).
    const below = `${formatPath(path)}.`;
    for (const [key, source] of this.sources) if (key.startsWith(below)) return source;
    return undefined;
  }
}

export function loadConfig(options: LoadOptions): LoadedConfig {
  const env = options.env ?? process.env;
  const problems = new Problems();
  const files: string[] = [];
  let raw: Raw = {};
  if (options.file !== undefined) {
    const file = resolve(options.file);
    files.push(file);
    const read = readYamlFile(file, problems);
    // Without the file's keys, any further problem would be noise.
    if (read === undefined) throw new ConfigError(problems.lines);
    raw = read;
  }
  const baseDir = options.file !== undefined ? dirname(resolve(options.file)) : process.cwd();
  applyEnvOverrides(raw, readEnvOverrides(env), problems);
  try {
    return { config: parseConfig(raw, baseDir, problems, files), files };
  } catch (error) {
    // "upstream: is required" alone would not tell that no file was read at all.
    if (options.file !== undefined || !(error instanceof ConfigError)) throw error;
    throw new ConfigError([NO_FILE, ...error.lines]);
  }
}

const NO_FILE =
  'config: file: no config file was given (--config FILE, or AUTH_SIDECAR_CONFIG); only AUTH_SIDECAR_* variables were read';

/**
 * Validates an already-read config object (secret files are read, `*File` paths resolved
 * against `baseDir`). Throws ConfigError, and nothing else, whatever `raw` holds.
 */
export function parseConfig(raw: Raw, baseDir: string, problems = new Problems(), files: string[] = []): Config {
  resolveFiles(raw, [], baseDir, files, problems);
  const config = validate(raw, problems);
  if (problems.lines.length > 0 || config === undefined) throw new ConfigError(problems.lines);
  return deepFreeze(config);
}

function readYamlFile(file: string, problems: Problems): Raw | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.lines.push(`config: file: cannot read "${file}": ${describeFsError(error)}`);
    return undefined;
  }
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    for (const error of document.errors) {
      const line = error.linePos?.[0]?.line;
      problems.lines.push(`config: file: invalid YAML${line ? ` at line ${line}` : ''}: ${error.code}`);
    }
    return undefined;
  }
  let value: unknown;
  try {
    // Aliases are resolved here, not while parsing: an unknown anchor or an alias bomb throws.
    value = document.toJS();
  } catch (error) {
    const bomb = /alias count/i.test((error as Error).message);
    problems.lines.push(
      `config: file: invalid YAML: ${bomb ? 'too many aliases' : 'an alias names an anchor that is not defined before it'}`,
    );
    return undefined;
  }
  if (value === null || value === undefined) return {};
  if (!isObject(value)) {
    problems.lines.push('config: file: must be a YAML mapping of keys');
    return undefined;
  }
  return value;
}

export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return code ?? 'unreadable';
  }
}

function applyEnvOverrides(raw: Raw, overrides: EnvOverride[], problems: Problems): void {
  for (const { variable, path, value, text } of overrides) {
    if (path.length === 0 || path.some((key) => key === '')) {
      problems.lines.push(`config: ${variable}: not a key path`);
      continue;
    }
    let container: unknown = raw;
    let ok = true;
    for (const [index, key] of path.slice(0, -1).entries()) {
      const next = childOf(container, key);
      if (next === undefined) {
        const created = typeof path[index + 1] === 'number' ? [] : {};
        if (!setChild(container, key, created)) ok = false;
        container = created;
      } else if (typeof next === 'object' && next !== null) {
        container = next;
      } else {
        ok = false;
      }
      if (!ok) break;
    }
    const last = path[path.length - 1] as string | number;
    if (!ok || !setChild(container, last, asSchemaExpects(path, value, text))) {
      problems.lines.push(`config: ${formatPath(path)}: cannot be set here (from ${variable})`);
      continue;
    }
    problems.sources.set(formatPath(path), variable);
  }
}

/**
 * `AUTH_SIDECAR_OIDC__CLIENT_ID=12345` reads as the number 12345; where the schema wants a
 * string (or a list of strings) the variable's text is what the user meant.
 */
function asSchemaExpects(path: Path, value: unknown, text: string): unknown {
  const types = leafTypesAt(schema, path);
  const wantsText = (t: Set<string>) => t.has('string') && !t.has('number') && !t.has('boolean');
  if ((typeof value === 'number' || typeof value === 'boolean') && wantsText(types)) return text.trim();
  if (Array.isArray(value) && wantsText(leafTypesAt(schema, [...path, 0]))) {
    return value.map((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v));
  }
  return value;
}

function childOf(container: unknown, key: string | number): unknown {
  if (Array.isArray(container)) return typeof key === 'number' ? container[key] : undefined;
  return isObject(container) ? container[key] : undefined;
}

function setChild(container: unknown, key: string | number, value: unknown): boolean {
  if (Array.isArray(container)) {
    if (typeof key !== 'number' || key > container.length) return false;
    if (value === undefined) container.splice(key, 1);
    else container[key] = value;
    return true;
  }
  if (!isObject(container) || typeof key === 'number') return false;
  if (value === undefined) delete container[key];
  else container[key] = value;
  return true;
}

/**
 * Every `*File` key is a path: relative ones are resolved against the config file's folder.
 * Secret `xFile` keys are read here and replaced by `x`, with one trailing newline removed.
 */
function resolveFiles(node: unknown, path: Path, baseDir: string, files: string[], problems: Problems): void {
  if (Array.isArray(node)) {
    node.forEach((child, index) => {
      resolveFiles(child, [...path, index], baseDir, files, problems);
    });
    return;
  }
  if (!isObject(node)) return;
  for (const key of Object.keys(node)) {
    const value = node[key];
    if (key.endsWith('File') && key.length > 4) {
      const resolved = resolveFilePaths(value, baseDir);
      if (resolved === undefined) continue; // not a path: the schema reports it
      node[key] = resolved;
      const secretKey = key.slice(0, -4);
      if (SECRET_KEYS.has(secretKey)) readSecretFile(node, secretKey, [...path, key], files, problems);
      else files.push(...(Array.isArray(resolved) ? resolved : [resolved]));
    } else {
      resolveFiles(value, [...path, key], baseDir, files, problems);
    }
  }
}

function resolveFilePaths(value: unknown, baseDir: string): string | string[] | undefined {
  const one = (p: unknown) =>
    typeof p === 'string' && p !== '' ? (isAbsolute(p) ? p : resolve(baseDir, p)) : undefined;
  if (Array.isArray(value)) {
    const paths = value.map(one);
    return paths.every((p) => p !== undefined) ? (paths as string[]) : undefined;
  }
  return one(value);
}

function readSecretFile(node: Raw, secretKey: string, filePath: Path, files: string[], problems: Problems): void {
  const fileKey = `${secretKey}File`;
  const paths = node[fileKey] as string | string[];
  delete node[fileKey];
  if (node[secretKey] !== undefined) {
    problems.add([...filePath.slice(0, -1), secretKey], `set either ${secretKey} or ${fileKey}, not both`);
    return;
  }
  const read = (file: string): string | undefined => {
    files.push(file);
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.add(filePath, `cannot read "${file}": ${describeFsError(error)}`);
      return undefined;
    }
  };
  const values = (Array.isArray(paths) ? paths : [paths]).map(read);
  if (values.some((v) => v === undefined)) return;
  node[secretKey] = Array.isArray(paths) ? values : values[0];
  problems.sources.set(formatPath([...filePath.slice(0, -1), secretKey]), fileKey);
}

function validate(raw: Raw, problems: Problems): Config | undefined {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const singleJwt = isObject(raw.jwt);
  for (const issue of flattenIssues(result.error.issues)) {
    // A single jwt entry is checked as a one-entry list: name it as the user wrote it.
    const path =
      singleJwt && issue.path[0] === 'jwt' && issue.path[1] === 0 ? ['jwt', ...issue.path.slice(2)] : issue.path;
    reportIssue(raw, path, issue, problems);
  }
  return undefined;
}

function reportIssue(raw: Raw, path: PropertyKey[], issue: z.core.$ZodIssue, problems: Problems): void {
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(schema, path);
    for (const key of issue.keys) {
      const meant = nearest(key, known);
      problems.add([...path, key], meant === undefined ? 'unknown key' : `unknown key; did you mean \`${meant}\`?`);
    }
    return;
  }
  if (issue.code !== 'custom' && valueAt(raw, path) === undefined) {
    problems.add(path, 'is required');
    return;
  }
  problems.add(path, readableMessage(issue));
}

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** zod's own wording ("Invalid input: expected object, received number") where the schema has none. */
function readableMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    return `must be ${EXPECTED[issue.expected] ?? issue.expected}`;
  }
  if (
    issue.code === 'too_small' &&
    issue.origin === 'array' &&
    Number(issue.minimum) === 1 &&
    issue.message.startsWith('Too small')
  ) {
    return 'must not be empty';
  }
  return issue.message;
}

/** Issue codes that say a union branch is of another shape than the input altogether. */
const MISMATCH = new Set<string>(['invalid_type', 'invalid_value']);

/** Union failures become the issues of the branch that fits the input's shape, if one does. */
function flattenIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): z.core.$ZodIssue[] {
  const flat: z.core.$ZodIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const fitting = issue.errors.filter(
        (branch) => !branch.some((inner) => MISMATCH.has(inner.code) && inner.path.length === 0),
      );
      if (fitting.length === 1 && fitting[0]) {
        flat.push(...flattenIssues(fitting[0], path));
        continue;
      }
    }
    flat.push({ ...issue, path } as z.core.$ZodIssue);
  }
  return flat;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
