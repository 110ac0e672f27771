// The README is part of the product: its two commands come first, its configs are ones the
// sidecar accepts, and its five-minute paths work as written.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema, SECRET_KEYS } from '../../src/config/schema.ts';
import { runCli, type ServingSidecar, serveCli } from '../support/cli.ts';
import { type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { tempDir } from '../support/sidecar.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const README = read('README.md');

/** The loader reads `xFile` secrets; the files of an example do not exist, so stand in for them. */
function withSecretsInline(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withSecretsInline);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => {
      const secret = key.endsWith('File') ? key.slice(0, -4) : '';
      if (SECRET_KEYS.has(secret)) return [secret, 'a-stand-in-secret-of-at-least-32-bytes'];
      return [key, withSecretsInline(value)];
    }),
  );
}

/** The text of one `## ` section (up to the next one). */
function section(doc: string, title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  if (start === -1) throw new Error(`no section "## ${title}"`);
  const end = doc.indexOf('\n## ', start + 4);
  return doc.slice(start, end === -1 ? undefined : end);
}

describe('README', () => {
  it('opens with the two commands: the demo and the whole test suite', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
    expect(README.indexOf('```sh')).toBeLessThan(README.indexOf('\n## '));
    const commands = firstBlock.split('\n').filter((l) => l.trim() !== '');
    expect(commands[0]).toMatch(/^npm ci && npm run demo\b/);
    expect(commands[1]).toMatch(/^npm ci && npm test\b/);
    const scripts = JSON.parse(read('package.json')).scripts;
    expect(scripts.demo).toBeDefined();
    expect(scripts.test).toContain('vitest run');
  });

  it('is the pitch, a five-minute path for each method, deployment and links', () => {
    const titles = [...README.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Five minutes with JWT bearer tokens',
        'Five minutes with HTTP basic',
        'Five minutes with OpenID Connect',
        'Deploy to Kubernetes',
        'Documentation',
      ]),
    );
    expect(README).not.toContain('config-reference:start');
    expect(README.split('\n').length).toBeLessThan(250);
  });

  it('shows only configs the schema accepts, here and in the guides it moved to', () => {
    for (const doc of ['README.md', 'docs/configuration.md', 'docs/jwt.md']) {
      const blocks = [...read(doc).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
      expect(blocks.length, doc).toBeGreaterThan(0);
      for (const block of blocks) {
        const result = configSchema.safeParse(withSecretsInline(parse(block)));
        expect(result.error?.issues ?? [], `${doc}:\n${block}`).toEqual([]);
      }
    }
  });
});

describe('README: five minutes with HTTP basic, as written', () => {
  let upstream: EchoUpstream | undefined;
  let sidecar: ServingSidecar | undefined;
  afterAll(async () => {
    sidecar?.child.kill();
    await upstream?.close();
  });

  it('hash-password writes the htpasswd file that basic.yaml names, and bob gets in', async () => {
    const text = section(README, 'Five minutes with HTTP basic');
    const commands = /```sh\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
    expect(commands).toContain('npx auth-sidecar hash-password --user bob > htpasswd');
    expect(commands).toContain('npx auth-sidecar serve --config basic.yaml');
    const yaml = /```yaml\n# basic\.yaml\n([\s\S]*?)```/.exec(text)?.[1];
    expect(yaml).toBeDefined();
    const dir = tempDir('auth-sidecar-readme-basic-');
    writeFileSync(join(dir, 'basic.yaml'), yaml as string);
    const hashed = await runCli(['hash-password', '--user', 'bob'], { stdin: 'bobs password\n' });
    writeFileSync(join(dir, 'htpasswd'), hashed.stdout);
    // The Flask app stands on 127.0.0.1:5000 in the README; here an echo upstream does, on a
    // free port, named by the environment override every key has.
    upstream = await startEchoUpstream();
    sidecar = await serveCli(
      {},
      {
        env: {
          AUTH_SIDECAR_UPSTREAM__URL: upstream.url,
          AUTH_SIDECAR_LISTEN: '127.0.0.1:0',
          AUTH_SIDECAR_ADMIN__LISTEN: '127.0.0.1:0',
        },
        dir,
        configFile: join(dir, 'basic.yaml'),
      },
    );
    const bob = await fetch(`${sidecar.url}/hello`, {
      headers: { authorization: `Basic ${Buffer.from('bob:bobs password').toString('base64')}` },
    });
    expect(bob.status).toBe(200);
    expect(upstream.received.at(-1)?.headers['x-forwarded-user']).toEqual(['bob']);
    const anonymous = await fetch(`${sidecar.url}/hello`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="legacy-app"');
    expect((await fetch(`${sidecar.url}/public/x`)).status).toBe(200);
  });
});
