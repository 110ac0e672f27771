// docs/oidc.md's config is one the sidecar accepts, as written.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { tempDir } from '../support/sidecar.ts';

const DOC = readFileSync(new URL('../../docs/oidc.md', import.meta.url), 'utf8');

describe('docs/oidc.md', () => {
  it('shows a config that loads, with its secret files', () => {
    const yaml = /```yaml\n# auth-sidecar\.yaml\n([\s\S]*?)```/.exec(DOC)?.[1];
    expect(yaml).toBeDefined();
    const dir = tempDir();
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets/cookie-secret'), `${'c'.repeat(44)}\n`);
    writeFileSync(join(dir, 'secrets/client-secret'), 'the client secret\n');
    writeFileSync(join(dir, 'auth-sidecar.yaml'), yaml as string);
    const { config } = loadConfig({ file: join(dir, 'auth-sidecar.yaml'), env: {} });
    expect(config.oidc?.[0]?.clientSecret).toBe('the client secret');
    expect(config.session.store).toBe('redis');
    expect(config.session.cookie.secret).toEqual(['c'.repeat(44)]);
  });

  it('shows a several-providers config that loads, as written', () => {
    const section = DOC.slice(DOC.indexOf('## Several providers'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    const dir = tempDir();
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets/corp-secret'), 'corp secret\n');
    writeFileSync(join(dir, 'secrets/partners-secret'), 'partners secret\n');
    const base = 'upstream: { url: "http://127.0.0.1:5000" }\npublicUrl: "https://app.example.com"\n';
    const cookie = `session: { cookie: { secret: "${'c'.repeat(44)}" } }\n`;
    writeFileSync(join(dir, 'auth-sidecar.yaml'), `${base}${cookie}${yaml}`);
    const { config } = loadConfig({ file: join(dir, 'auth-sidecar.yaml'), env: {} });
    expect(config.oidc?.map((p) => [p.name, p.clientSecret])).toEqual([
      ['corp', 'corp secret'],
      ['partners', 'partners secret'],
    ]);
    expect(config.routes[0]?.allow?.providers).toEqual(['corp']);
  });
});
