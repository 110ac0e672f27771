// AUTH_SIDECAR_* environment overrides: `__` between levels, upper snake case within a level.
import { parse as parseYaml } from 'yaml';

export const ENV_PREFIX = 'AUTH_SIDECAR_';
const CONFIG_FILE_VARIABLE = `${ENV_PREFIX}CONFIG`;

/**
 * The config file `--config FILE` names, else AUTH_SIDECAR_CONFIG, else none (environment
 * only). An empty AUTH_SIDECAR_CONFIG names no file, as an empty AUTH_SIDECAR_* value unsets its key.
 */
export function configFileOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag ?? (env[CONFIG_FILE_VARIABLE] || undefined);
}

// Kubernetes injects service links for every Service of the namespace into every pod: for a
// Service named "auth-sidecar" (AUTH_SIDECAR_PORT, AUTH_SIDECAR_SERVICE_HOST, ...), and as
// well for "auth-sidecar-redis" (AUTH_SIDECAR_REDIS_SERVICE_HOST, ...). They are not ours;
// reading them as config keys would make every such pod crash on an "unknown key". No config
// key path ends in these words, and a service name never gives "__".
const SERVICE_LINK =
  /^(?:[A-Z0-9_]*[A-Z0-9]_)?(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

export interface EnvOverride {
  variable: string;
  path: (string | number)[];
  value: unknown;
  /** The variable's text, for keys that want it verbatim. */
  text: string;
}

/** The overrides found in `env`, in a stable order. */
export function readEnvOverrides(env: NodeJS.ProcessEnv): EnvOverride[] {
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && name !== CONFIG_FILE_VARIABLE)
    .filter((name) => {
      const rest = name.slice(ENV_PREFIX.length);
      return rest.includes('__') || !SERVICE_LINK.test(rest);
    })
    .sort()
    .map((variable) => ({
      variable,
      path: variable.slice(ENV_PREFIX.length).split('__').map(toKey),
      value: parseEnvValue(env[variable] ?? ''),
      text: env[variable] ?? '',
    }));
}

/** `TIMEOUT_SECONDS` → `timeoutSeconds`; `0` → 0 (a list index). */
function toKey(segment: string): string | number {
  if (/^\d+$/.test(segment)) return Number(segment);
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Values are YAML scalars or flow sequences (`60`, `true`, `[a, b]`). Anything YAML would read
 * as a mapping, or cannot read, stays the literal string, so a secret is never mangled.
 * An empty value unsets the key.
 */
export function parseEnvValue(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    // logLevel 'error': yaml would print its warnings (an unknown `%` directive, say) to stderr
    // through process.emitWarning, quoting the value, which may be a secret.
    const value: unknown = parseYaml(raw, { logLevel: 'error' });
    if (value === null || (typeof value === 'object' && !Array.isArray(value))) {
      return /^(null|~)$/i.test(raw.trim()) ? undefined : raw;
    }
    // Only a flow sequence is a list: "- abc" (YAML's block form) is a value that starts with a dash.
    if (Array.isArray(value) && !raw.trim().startsWith('[')) return raw;
    // A YAML comment would silently cut a value such as "abc #1"; keep the literal then.
    if (typeof value === 'string' && value !== raw.trim() && !/^["'].*["']$/s.test(raw.trim())) return raw;
    return value;
  } catch {
    return raw;
  }
}
