// The real forward-auth consumers of the examples, run by tests: Debian's nginx and Caddy,
// each with the example's config (its ports replaced), in the foreground, stopped by the test.
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ExternalServer, startExternalServer } from './external-server.ts';
import { freePort } from './free-port.ts';
import { tempDir } from './sidecar.ts';

export const EXAMPLES = join(import.meta.dirname, '../../examples');

export interface Consumer {
  name: string;
  start(sidecarPort: number, appPort: number): Promise<ExternalServer>;
}

/** The example's config with the sidecar, app and listen ports of this test. */
function exampleConfig(file: string, ports: { listen: number; sidecar: number; app: number }): string {
  return readFileSync(join(EXAMPLES, file), 'utf8')
    .replaceAll(':8080', `:${ports.listen}`)
    .replaceAll('127.0.0.1:4180', `127.0.0.1:${ports.sidecar}`)
    .replaceAll('127.0.0.1:5000', `127.0.0.1:${ports.app}`);
}

export const nginx: Consumer = {
  name: 'nginx auth_request',
  async start(sidecar, app) {
    const dir = tempDir('nginx-');
    mkdirSync(join(dir, 'tmp'));
    const listen = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), exampleConfig('nginx-forward-auth/nginx.conf', { listen, sidecar, app }));
    // One process: no worker switching to an unprivileged user that cannot use the temp dir.
    const args = ['-p', dir, '-c', 'nginx.conf', '-e', 'stderr', '-g', 'master_process off;'];
    return startExternalServer(binary('nginx'), args, listen);
  },
};

export const caddy: Consumer = {
  name: 'Caddy forward_auth',
  async start(sidecar, app) {
    const dir = tempDir('caddy-');
    const listen = await freePort();
    writeFileSync(join(dir, 'Caddyfile'), exampleConfig('caddy-forward-auth/Caddyfile', { listen, sidecar, app }));
    const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
    return startExternalServer(binary('caddy'), ['run', '--config', 'Caddyfile', '--adapter', 'caddyfile'], listen, {
      cwd: dir,
      env,
    });
  },
};

/** Debian puts nginx in /usr/sbin, which a non-root PATH may lack. */
function binary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/sbin', '/usr/bin')) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  throw new Error(`${name} is not installed (.ci/run installs it)`);
}
