// `auth-sidecar explain` as users run it (a child process): every example of docs/routes.md,
// docs/identity.md and the README prints exactly what the doc shows, tokens are verified with the configured keys, and the
// example configs of examples/ are explained too.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCa, EXPIRED, issue, issueServer } from '../support/certificates.ts';
import { type CliResult, runCli } from '../support/cli.ts';
import { AUDIENCE, createSigningKey, ISSUER, jwksOf, type SigningKey, signToken } from '../support/keys.ts';
import { tempDir } from '../support/sidecar.ts';

const ROOT = join(import.meta.dirname, '../..');
const ROUTES_DOC = readFileSync(join(ROOT, 'docs/routes.md'), 'utf8');
const JWT_DOC = readFileSync(join(ROOT, 'docs/jwt.md'), 'utf8');
const IDENTITY_DOC = readFileSync(join(ROOT, 'docs/identity.md'), 'utf8');
const TLS_DOC = readFileSync(join(ROOT, 'docs/tls.md'), 'utf8');

/** Splits a shell command line: words, and '...' quoted words (all the docs use). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => (m[1] ?? m[2]) as string);
}

interface DocExample {
  args: string[];
  output: string;
}

function docExamples(doc: string): DocExample[] {
  return [...doc.matchAll(/```console\n\$ auth-sidecar (explain [^\n]*)\n([\s\S]*?)```/g)].map((m) => ({
    args: shellWords(m[1] as string),
    output: m[2] as string,
  }));
}

interface ExampleFolder {
  /** The config's file name, as the examples name it. */
  readonly file?: string;
  /** Writes the files the config and the examples name, besides the config. */
  readonly prepare?: (dir: string) => void;
}

/** A document's explain examples, run against the routes config it shows. */
function explainsEveryExample(name: string, doc: string, configBlock: RegExp, folder: ExampleFolder = {}): void {
  describe(`explain answers every example of ${name}`, () => {
    const dir = tempDir('explain-');
    const config = configBlock.exec(doc)?.[1] ?? '';
    writeFileSync(join(dir, folder.file ?? 'routes.yaml'), config);
    folder.prepare?.(dir);
    const examples = docExamples(doc);

    it('has the examples', () => {
      expect(config).toContain('routes:');
      expect(examples.length).toBeGreaterThanOrEqual(5);
    });

    // Each run is a Node process: start them all at once, a few at a time, and check each below.
    const results = new Map<DocExample, Promise<CliResult>>();
    beforeAll(async () => {
      for (let i = 0; i < examples.length; i += 4) {
        const batch = examples.slice(i, i + 4).map((e) => [e, runCli(e.args, { cwd: dir })] as const);
        for (const [e, run] of batch) results.set(e, run);
        await Promise.all(batch.map(([, run]) => run));
      }
    });

    it.each(examples.map((e) => [e.args.join(' '), e] as const))('%s', async (_name, example) => {
      const result = (await results.get(example)) as CliResult;
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(example.output);
      expect(result.code).toBe(0);
    });
  });
}

explainsEveryExample('docs/routes.md', ROUTES_DOC, /## Example\n\n```yaml\n([\s\S]*?)```/);
explainsEveryExample(
  'docs/jwt.md',
  JWT_DOC,
  /## Route rules for an API, checked with `explain`\n[\s\S]*?```yaml\n([\s\S]*?)```/,
);
explainsEveryExample('docs/identity.md', IDENTITY_DOC, /## Explaining a decision\n[\s\S]*?```yaml\n([\s\S]*?)```/, {
  file: 'identity.yaml',
});
explainsEveryExample('docs/tls.md', TLS_DOC, /## Explain\n[\s\S]*?```yaml\n([\s\S]*?)```/, {
  file: 'tls.yaml',
  prepare: certificatesForTlsDoc,
});

/** The files docs/tls.md's examples name: the listener's certificate and CA, and four clients. */
function certificatesForTlsDoc(dir: string): void {
  const serverCa = createCa('Server CA', dir);
  const clientCa = createCa('Client CA', dir);
  const server = issueServer(serverCa);
  mkdirSync(join(dir, 'tls'));
  copyFileSync(server.certFile, join(dir, 'tls/tls.crt'));
  copyFileSync(server.keyFile, join(dir, 'tls/tls.key'));
  copyFileSync(clientCa.certFile, join(dir, 'tls/ca.crt'));
  const workload = (name: string) => ({ cn: name, san: [`URI:spiffe://example.org/ns/prod/sa/${name}`] });
  const clients = {
    'billing.crt': issue(clientCa, 'billing', workload('billing')),
    'reports.crt': issue(clientCa, 'reports', workload('reports')),
    'expired.crt': issue(clientCa, 'expired', { ...workload('reports'), ...EXPIRED }),
    'stranger.crt': issue(createCa('Other CA', dir), 'stranger', workload('billing')),
  };
  for (const [file, issued] of Object.entries(clients)) copyFileSync(issued.certFile, join(dir, file));
}

describe('explain with real credentials and the examples', () => {
  let key: SigningKey;
  let dir: string;

  beforeAll(async () => {
    key = await createSigningKey('ES256');
    dir = tempDir('explain-');
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwksOf(key)));
    writeFileSync(
      join(dir, 'config.yaml'),
      [
        'upstream: { url: "http://127.0.0.1:5000" }',
        `jwt: { issuer: "${ISSUER}", audience: "${AUDIENCE}", keysFile: jwks.json }`,
        'routes:',
        '  - { path: "/admin/**", allow: { groups: [admins] } }',
      ].join('\n'),
    );
  });

  it('verifies a token with the configured keys', async () => {
    const token = await signToken(key, { sub: 'alice', email: 'alice@corp.com', groups: ['admins'] });
    const ok = await runCli(['explain', '--config', 'config.yaml', '/admin/x', '--token', token], { cwd: dir });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('identity: alice (jwt), email alice@corp.com, groups admins, scopes (none)\n');
    expect(ok.stdout).toContain('decision: 200 allowed: a listed group is held\n');

    const other = await createSigningKey('ES256', key.kid);
    const forged = await signToken(other, { sub: 'alice', groups: ['admins'] });
    const refused = await runCli(['explain', '--config', 'config.yaml', '/admin/x', '--token', forged], { cwd: dir });
    expect(refused.stdout).toContain('decision: 401 refused (invalid_token): the token signature is invalid\n');
  });

  it('reads --token - and --basic - from stdin, so the credential stays out of ps', async () => {
    const token = await signToken(key, { sub: 'alice', groups: ['admins'] });
    const fromStdin = await runCli(['explain', '--config', 'config.yaml', '/admin/x', '--token', '-'], {
      cwd: dir,
      stdin: `${token}\n`,
    });
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toContain('decision: 200 allowed: a listed group is held\n');
    const config = join(ROOT, 'examples/nginx-forward-auth/auth-sidecar.yaml');
    const bob = await runCli(['explain', '--config', config, '/admin/users', '--basic', '-'], {
      stdin: 'bob:bob-demo-password\r\n',
    });
    expect(bob.stdout).toContain('identity: bob (basic), groups dev, scopes (none)\n');
    const noColon = await runCli(['explain', '--config', config, '/admin/users', '--basic', '-'], { stdin: 'bob\n' });
    expect(noColon.code).toBe(64);
    expect(noColon.stderr).toContain('--basic must be USER:PASSWORD');
  });

  it('explains the forward-auth example configs', async () => {
    for (const example of ['nginx-forward-auth', 'caddy-forward-auth']) {
      const config = join(ROOT, 'examples', example, 'auth-sidecar.yaml');
      const bob = await runCli(['explain', '--config', config, '/admin/users', '--basic', 'bob:bob-demo-password']);
      expect(bob.stdout, example).toContain('route:    routes.1 "/admin/**"\n');
      expect(bob.stdout, example).toContain('identity: bob (basic), groups dev, scopes (none)\n');
      expect(bob.stdout, example).toContain('decision: 403 refused (forbidden): no listed group\n');
      const wrong = await runCli(['explain', '--config', config, '/admin/users', '--basic', 'bob:wrong']);
      expect(wrong.stdout, example).toContain('identity: none: the basic credential was refused\n');
    }
  });

  it('refuses bad usage with 64 and a bad config with 78', async () => {
    const twoPaths = await runCli(['explain', '--config', 'config.yaml', '/a', '/b'], { cwd: dir });
    expect(twoPaths.code).toBe(64);
    expect(twoPaths.stderr).toContain('explain needs exactly one PATH');
    const both = await runCli(['explain', '--config', 'config.yaml', '/a', '--token', 'x', '--claims', '{}'], {
      cwd: dir,
    });
    expect(both.code).toBe(64);
    const method = await runCli(['explain', '--config', 'config.yaml', '-X', 'G T', '/a'], { cwd: dir });
    expect(method.code).toBe(64);
    expect(method.stderr).toContain('-X must be an HTTP method such as GET');
    const peer = await runCli(['explain', '--config', 'config.yaml', '--peer', 'example.com', '/a'], { cwd: dir });
    expect(peer.code).toBe(64);
    expect(peer.stderr).toContain('--peer must be an IP address');
    const cert = await runCli(['explain', '--config', 'config.yaml', '/a', '--cert', 'client.crt'], { cwd: dir });
    expect(cert.code).toBe(64);
    expect(cert.stderr).toContain('--cert needs tls.clientCaFile in the config');
    writeFileSync(join(dir, 'bad.yaml'), 'upstream: { url: "http://127.0.0.1:5000" }\nroutes: [{ path: "a" }]\n');
    const bad = await runCli(['explain', '--config', 'bad.yaml', '/a'], { cwd: dir });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('config: routes.0.path: must start with "/"');
  });
});
