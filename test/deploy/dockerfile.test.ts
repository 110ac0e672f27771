// The Dockerfiles pass the lint rules (test/deploy/dockerfile.ts), each rule can fail, the
// build context holds what the Dockerfile copies and nothing sensitive, and the production
// stage's dependencies are all that dist/ needs at run time.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contextProblems,
  environment,
  execForm,
  filesUnder,
  finalStage,
  last,
  lint,
  parseDockerfile,
} from './dockerfile.ts';
import { REPO } from './render.ts';

const read = (path: string) => readFileSync(join(REPO, path), 'utf8');

const IMAGES = [
  { dockerfile: 'Dockerfile', options: { ports: [4180, 4181], node: true } },
  { dockerfile: 'examples/flask/Dockerfile', options: { ports: [], node: false } },
];

describe('the Dockerfiles', () => {
  for (const { dockerfile, options } of IMAGES) {
    it(`${dockerfile} passes every rule`, () => {
      expect(lint(read(dockerfile), options)).toEqual([]);
    });

    it(`${dockerfile}: the context holds what it copies, and not .git, node_modules or dist`, () => {
      expect(contextProblems(join(REPO, dockerfile))).toEqual([]);
    });
  }

  it('the sidecar image runs dist/cli.js with node as PID 1, serve by default, config from the ConfigMap mount', () => {
    const stage = finalStage(parseDockerfile(read('Dockerfile')));
    expect(execForm(last(stage, 'ENTRYPOINT')?.rest ?? '')).toEqual(['node', '/app/dist/cli.js']);
    expect(execForm(last(stage, 'CMD')?.rest ?? '')).toEqual(['serve']);
    expect(environment(stage)).toMatchObject({
      NODE_ENV: 'production',
      AUTH_SIDECAR_CONFIG: '/etc/auth-sidecar/config/config.yaml',
    });
    expect(last(stage, 'USER')?.rest).toBe('1000:1000');
  });

  it('every package the sources import at run time is a production dependency (the run stage has no others)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const sources = filesUnder(join(REPO, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(10);
    const imported = new Set<string>();
    for (const file of sources) {
      const text = read(join('src', file));
      const statics = text.matchAll(
        /^(?:import|export)\s+(?!type\s)[^'";]*?from\s+['"]([^'"]+)['"]|^import\s+['"]([^'"]+)['"]/gm,
      );
      const dynamics = text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g);
      for (const match of [...statics, ...dynamics]) {
        imported.add(match[1] ?? match[2] ?? '');
      }
    }
    const packages = [...imported]
      .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] ?? '')));
    expect(packages.length).toBeGreaterThan(0);
    expect(packages.filter((p) => !(p in pkg.dependencies))).toEqual([]);
  });
});

describe('the lint rules catch what they name', () => {
  const good = read('Dockerfile');
  const cases: [rule: string, dockerfile: string][] = [
    ['DL3006', 'FROM node\nUSER 1000\nCMD ["node"]'],
    ['DL3007', 'FROM node:latest\nUSER 1000\nCMD ["node"]'],
    ['DL3000', 'FROM node:24\nWORKDIR app\nUSER 1000\nCMD ["node"]'],
    ['DL3002', 'FROM node:24\nUSER root\nCMD ["node"]'],
    ['DL3002', 'FROM node:24\nCMD ["node"]'],
    ['DL3020', 'FROM node:24\nADD . /app\nUSER 1000\nCMD ["node"]'],
    ['DL3025', 'FROM node:24\nUSER 1000\nCMD node server.js'],
    ['DL3003', 'FROM node:24\nRUN cd /app && make\nUSER 1000\nCMD ["node"]'],
    ['DL3004', 'FROM node:24\nRUN sudo make\nUSER 1000\nCMD ["node"]'],
    ['DL3008', 'FROM debian:12\nRUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*'],
    ['DL3009', 'FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=7.88'],
    ['DL3015', 'FROM debian:12\nRUN apt-get install -y curl=7.88 && rm -rf /var/lib/apt/lists/*'],
    ['DL3013', 'FROM python:3.13\nRUN pip install --no-cache-dir flask\nUSER 1000\nCMD ["python"]'],
    ['DL3042', 'FROM python:3.13\nRUN pip install flask==3.1.3\nUSER 1000\nCMD ["python"]'],
    ['DL3016', 'FROM node:24\nRUN npm install pino\nUSER 1000\nCMD ["node"]'],
    ['DL4006', 'FROM node:24\nRUN curl -s https://x | sh\nUSER 1000\nCMD ["node"]'],
    ['DL3022', 'FROM node:24\nCOPY --from=builder /a /a\nUSER 1000\nCMD ["node"]'],
    ['DL3024', 'FROM node:24 AS a\nFROM node:24 AS a\nUSER 1000\nCMD ["node"]'],
    ['DL4000', 'FROM node:24\nMAINTAINER me\nUSER 1000\nCMD ["node"]'],
    ['AS001', 'FROM node:24\nUSER node\nCMD ["node"]'],
    ['AS002', 'FROM node:24\nUSER 1000\nENTRYPOINT ["npm", "start"]'],
    ['AS002', 'FROM node:24\nUSER 1000\nCMD ["sh", "-c", "node server.js"]'],
    ['AS003', good.replace('EXPOSE 4180 4181', 'EXPOSE 4180')],
    ['AS004', good.replace(' --omit=dev', '')],
    ['AS004', good.replace('--from=production-dependencies /src/node_modules', '--from=build /src/node_modules')],
  ];
  for (const [rule, dockerfile] of cases) {
    it(`${rule}: ${dockerfile.split('\n').slice(1).join(' | ').slice(0, 80)}`, () => {
      const problems = lint(dockerfile, { ports: [4180, 4181], node: true });
      expect(problems.some((p) => p.startsWith(`${rule} `))).toBe(true);
    });
  }
});
