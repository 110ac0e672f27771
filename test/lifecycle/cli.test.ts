// The CLI as a user runs it: commands, exit codes, what goes to stdout and stderr.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import PACKAGE from '../../package.json' with { type: 'json' };
import { type CliResult, runCli, serveCli } from '../support/cli.ts';
import { tempDir } from '../support/sidecar.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

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

  it('logs JSON lines on stdout, starting with its version, its Node, its methods and where it listens', async () => {
    const sidecar = await serveCli(VALID);
    try {
      const started = sidecar.lines[0];
      expect(started).toMatchObject({
        level: 'info',
        msg: 'auth-sidecar started',
        version: PACKAGE.version,
        node: expect.stringMatching(/^24\./),
        methods: ['jwt'],
        sessionStore: 'memory',
        upstream: 'http://127.0.0.1:5000',
      });
      expect(sidecar.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      sidecar.kill();
      expect(await sidecar.exited).toBe(0);
    }
  });
});

describe('usage errors', () => {
  it('exits 64 for an unknown command or option, saying so in plain words', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('auth-sidecar: unknown command "frobnicate"');
    const cases = [
      [['check-config', '--bogus'], 'auth-sidecar check-config: unknown option --bogus'],
      [['serve', '--config'], 'auth-sidecar serve: --config needs a value'],
      [['check-config', 'extra'], 'auth-sidecar check-config: unexpected argument "extra"'],
      [['explain', '--claims'], 'auth-sidecar explain: --claims needs a value'],
      [['hash-password', '--user', '--bogus'], 'auth-sidecar hash-password: --user needs a value'],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => runCli([...args])));
    for (const [index, [args, message]] of cases.entries()) {
      const result = results[index] as CliResult;
      expect(result.code, args.join(' ')).toBe(64);
      expect(result.stderr).toContain(`${message}\nusage: auth-sidecar `);
      // Never node:util's own wording ("Unknown option '--bogus'. To specify a positional ...").
      expect(result.stderr).not.toMatch(/positional argument|Unknown option|ERR_PARSE_ARGS/);
    }
  });
});

describe('--help', () => {
  it('prints a help text for every command, on stdout, and exits 0', async () => {
    // --help for two commands, -h for the other two, and both spellings give the same text.
    const runs = [
      ['serve', '--help'],
      ['check-config', '-h'],
      ['hash-password', '--help'],
      ['explain', '-h'],
      ['explain', '--help'],
      ['help', 'explain'],
      ['--help'],
    ].map((args) => runCli(args));
    const [serve, check, hash, explainShort, explainLong, helpExplain, overview] = await Promise.all(runs);
    const commands = { serve, 'check-config': check, 'hash-password': hash, explain: explainShort };
    for (const [command, result] of Object.entries(commands)) {
      expect(result?.code, command).toBe(0);
      expect(result?.stderr).toBe('');
      expect(result?.stdout).toMatch(new RegExp(`^usage: auth-sidecar (\\[serve\\]|${command})`));
      expect(result?.stdout).toContain('-h, --help');
      expect(result?.stdout).toContain('exit codes:');
    }
    expect(explainLong?.stdout).toBe(explainShort?.stdout);
    expect(helpExplain?.stdout).toBe(explainShort?.stdout);
    expect(overview?.code).toBe(0);
    expect(overview?.stdout).toContain('"auth-sidecar COMMAND --help" explains each command');
  });

  it('explains every option of explain, --via and -H included', async () => {
    const { stdout } = await runCli(['explain', '--help']);
    for (const option of [
      '-X, --method METHOD',
      '-H, --header',
      '--token JWT',
      '--token -',
      '--basic USER:PASSWORD',
      '--basic -',
      '--claims JSON',
      '--via jwt|session',
      '-c, --config FILE',
    ]) {
      expect(stdout).toContain(option);
    }
  });

  it('comes before any other check: a command with --help neither reads a config nor stdin', async () => {
    const result = await runCli(['check-config', '--config', '/does/not/exist.yaml', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: auth-sidecar check-config/);
  });
});

describe('which Node.js', () => {
  it("npx auth-sidecar in the checkout runs on the project's Node 24 and prints no engine warnings", () => {
    const result = spawnSync('npx', ['auth-sidecar', '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^auth-sidecar \d+\.\d+\.\d+\n$/);
    const node = spawnSync('npx', ['-c', 'node --version'], { cwd: ROOT, encoding: 'utf8' });
    expect(node.stdout).toMatch(/^v24\./);
  });

  it('after npm ci, says once which Node runs the project when npm itself runs on an older one', () => {
    const notice = (agent: string) =>
      spawnSync(process.execPath, ['scripts/node-notice.ts'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, npm_config_user_agent: agent },
      }).stdout;
    expect(notice('npm/11.19.1 node/v20.20.2 linux x64 workspaces/false')).toBe(
      `auth-sidecar: npm runs on Node.js 20.20.2; this project brings its own Node.js ${process.versions.node} (node_modules/.bin/node), and every npm script and "npx auth-sidecar" run on it. Outside npm, use Node.js 24.\n`,
    );
    expect(notice('npm/11.6.0 node/v24.21.0 linux x64 workspaces/false')).toBe('');
  });
});
