// The problems the loader reports for some keys beside a minimal valid config (an upstream and
// basic credentials), read from a YAML file as users write it: for tests of config errors.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { tempDir } from './sidecar.ts';

export function configProblems(keys: Record<string, unknown>): string[] {
  const file = join(tempDir(), 'config.yaml');
  writeFileSync(file, stringify({ upstream: { url: 'http://127.0.0.1:5000' }, basic: { htpasswdFile: 'x' }, ...keys }));
  try {
    loadConfig({ file, env: {} });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return [...error.lines];
  }
}
