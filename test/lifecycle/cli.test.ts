// The CLI as a user runs it: commands, exit codes, what goes to stdout and stderr.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli, serveCli } from '../support/cli.ts';
import { tempDir } from '../support/sidecar.ts';

const VALID = {
  upstream: { url: 'http://127.0.0.1:5000' },
  jwt: { issuer: 'https://idp.example', audience: 'api', jwksUri: 'https://idp.example/jwks' },
};

function configFile(config: unknown, name = 'config.yaml'): string {
  const file = join(tempDir(), name);
  writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  return file;
}

describe('auth-sidecar --version', () => {
  it('prints the package version and exits 0', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `auth-sidecar ${version}\n` });
  });
});

describe('auth-sidecar check-config', () => {
  it('exits 0 for a valid config', async () => {
    const result = await runCli(['check-config', '--config', configFile(VALID)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^config ok: /);
    expect(result.stderr).toBe('');
  });

  it('exits 78 with one "config: key.path: reason" line per problem on stderr', async () => {
    const result = await runCli([
      'check-config',
      '--config',
      configFile({ upstream: { url: 'nope', extra: 1 }, listen: 5 }),
    ]);
    expect(result.code).toBe(78);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'config: upstream.url: must be an absolute http(s) upstream URL',
        'config: upstream.extra: unknown key',
        'config: listen: must be "host:port"',
        'config: jwt: no authentication method is configured: set jwt, basic, oidc or tls.clientCaFile (mtls)',
      ]),
    );
    expect(lines.every((line) => line.startsWith('config: '))).toBe(true);
    expect(result.stdout).toBe('');
  });

  it('never echoes a secret', async () => {
    const secret = 'my-very-secret-client-secret-value';
    const result = await runCli([
      'check-config',
      '--config',
      configFile({ ...VALID, oidc: { issuer: 'https://idp', clientId: 'a', clientSecret: secret, unknown: secret } }),
    ]);
    expect(result.code).toBe(78);
    expect(result.stderr).not.toContain(secret);
  });

  it('checks the files the config names: an unreadable or invalid keysFile is a config error', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.json'), '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}');
    const missing = await runCli([
      'check-config',
      '--config',
      configFile({ ...VALID, jwt: { audience: 'a', keysFile: '/nonexistent.json' } }),
    ]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toBe('config: jwt.keysFile: cannot read "/nonexistent.json" (ENOENT)\n');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, stringify({ ...VALID, jwt: { audience: 'a', keysFile: 'bad.json' } }));
    const symmetric = await runCli(['check-config', '--config', file]);
    expect(symmetric.code).toBe(78);
    expect(symmetric.stderr).toContain('config: jwt.keysFile: ');
    expect(symmetric.stderr).toContain('holds a private or symmetric key');
    expect(symmetric.stderr).not.toContain('c2VjcmV0');
    for (const keys of ['[]', '[{"kty": "RSA", "n": "x"}]']) {
      writeFileSync(join(dir, 'bad.json'), `{"keys": ${keys}}`);
      const unusable = await runCli(['check-config', '--config', file]);
      expect(unusable.code).toBe(78);
      expect(unusable.stderr).toBe(`config: jwt.keysFile: "${join(dir, 'bad.json')}" holds no usable public key\n`);
    }
  });

  it('makes no network connection, even to a configured Redis', async () => {
    let connections = 0;
    const redis = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => redis.listen(0, '127.0.0.1', resolve));
    const { port } = redis.address() as { port: number };
    try {
      const result = await runCli([
        'check-config',
        '--config',
        configFile({ ...VALID, session: { store: 'redis', redis: { url: `redis://127.0.0.1:${port}` } } }),
      ]);
      expect(result.code).toBe(0);
      expect(connections).toBe(0);
    } finally {
      redis.close();
    }
  });

  it('exits 78 for a missing config file', async () => {
    const result = await runCli(['check-config', '--config', '/nonexistent/config.yaml']);
    expect(result).toMatchObject({
      code: 78,
      stderr: 'config: file: cannot read "/nonexistent/config.yaml": no such file\n',
    });
  });

  it('reads AUTH_SIDECAR_CONFIG when --config is absent; --config wins', async () => {
    const good = configFile(VALID);
    const bad = configFile({ upstream: {} });
    expect((await runCli(['check-config'], { env: { AUTH_SIDECAR_CONFIG: good } })).code).toBe(0);
    expect((await runCli(['check-config', '--config', good], { env: { AUTH_SIDECAR_CONFIG: bad } })).code).toBe(0);
    expect((await runCli(['check-config', '--config', bad], { env: { AUTH_SIDECAR_CONFIG: good } })).code).toBe(78);
  });

  it('applies AUTH_SIDECAR_* overrides, from the environment alone too', async () => {
    const env = {
      AUTH_SIDECAR_UPSTREAM__URL: 'http://127.0.0.1:8080',
      AUTH_SIDECAR_JWT__AUDIENCE: 'api',
      AUTH_SIDECAR_JWT__JWKS_URI: 'https://idp.example/jwks',
    };
    const result = await runCli(['check-config'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('upstream http://127.0.0.1:8080');
    // An empty AUTH_SIDECAR_CONFIG (a common Kubernetes leftover) names no file.
    expect((await runCli(['check-config'], { env: { ...env, AUTH_SIDECAR_CONFIG: '' } })).code).toBe(0);
    const wrong = await runCli(['check-config', '--config', configFile(VALID)], {
      env: { AUTH_SIDECAR_UPSTREAM__TIMEOUT_SECONDS: 'soon' },
    });
    expect(wrong.code).toBe(78);
    expect(wrong.stderr).toContain(
      'config: upstream.timeoutSeconds: must be a number of seconds (from AUTH_SIDECAR_UPSTREAM__TIMEOUT_SECONDS)',
    );
  });
});

describe('auth-sidecar serve', () => {
  it('refuses to start with an invalid config: exit 78, nothing listens', async () => {
    const result = await runCli(['serve', '--config', configFile({ upstream: { url: 'http://127.0.0.1:5000' } })]);
    expect(result.code).toBe(78);
    expect(result.stderr).toBe(
      'config: jwt: no authentication method is configured: set jwt, basic, oidc or tls.clientCaFile (mtls)\n',
    );
  });

  it('is also what `auth-sidecar --config FILE` runs', async () => {
    const result = await runCli(['--config', configFile({ upstream: {} })]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('config: upstream.url: is required');
  });

  it('exits 1 with a clear message when its port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(['serve', '--config', configFile({ ...VALID, listen: `127.0.0.1:${port}` })]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('auth-sidecar: cannot start: address already in use\n');
    } finally {
      blocker.close();
    }
  });

  it('logs JSON lines on stdout, starting with where it listens', async () => {
    const sidecar = await serveCli(VALID);
    try {
      const started = sidecar.lines[0];
      expect(started).toMatchObject({ level: 'info', msg: 'auth-sidecar started', upstream: 'http://127.0.0.1:5000' });
      expect(sidecar.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      sidecar.kill();
      expect(await sidecar.exited).toBe(0);
    }
  });
});

describe('usage errors', () => {
  it('exits 64 for an unknown command or option', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(64);
    expect((await runCli(['check-config', '--bogus'])).code).toBe(64);
  });
});
