// A Dockerfile reader and the lint rules the project's Dockerfiles must pass: hadolint's rules
// that apply to them (hadolint, a Haskell binary, is not packaged for this machine), by their
// hadolint ids, plus the project's own (AS*) that make an image fit to run as a sidecar:
// numeric non-root user, signals reaching the process, no dev dependencies, a tight context.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface Instruction {
  keyword: string;
  /** The text after the keyword, continuation lines joined. */
  rest: string;
  /** The 1-based line the instruction starts on. */
  line: number;
}

export interface Stage {
  image: string;
  alias: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, alias] = instruction.rest.split(/\s+/).filter((w) => !w.startsWith('--'));
      stages.push({ image, alias: as?.toUpperCase() === 'AS' ? alias : undefined, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.rest.split('=', 2);
      globalArgs.set(name.trim(), value.trim());
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function* instructions(text: string): Generator<Instruction> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i] ?? '';
      if (/^\s*#/.test(next)) continue;
      line = `${line.slice(0, -1)} ${next.trim()}`;
    }
    const match = /^\s*(\w+)\s*(.*)$/.exec(line);
    if (match) yield { keyword: (match[1] ?? '').toUpperCase(), rest: (match[2] ?? '').trim(), line: start + 1 };
  }
}

/** The exec form (`["a", "b"]`) as a list, or undefined for the shell form. */
export function execForm(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(rest);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

export function finalStage(file: Dockerfile): Stage {
  const stage = file.stages[file.stages.length - 1];
  if (!stage) throw new Error('Dockerfile has no FROM');
  return stage;
}

/** The last value of a keyword in a stage (ENTRYPOINT, CMD, USER, WORKDIR...). */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** ENV of a stage as a map (both `ENV A=b C=d` and the legacy `ENV A b`). */
export function environment(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { rest } of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    if (!rest.includes('=')) {
      const [name = '', ...value] = rest.split(/\s+/);
      env[name] = value.join(' ');
      continue;
    }
    for (const match of rest.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const raw = match[2] ?? '';
      env[match[1] ?? ''] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    }
  }
  return env;
}

export interface LintOptions {
  /** Ports the image must EXPOSE (and only these). */
  ports: number[];
  /** Whether the image runs Node with npm dependencies (then the dev-dependency rule applies). */
  node: boolean;
}

export interface Rule {
  id: string;
  description: string;
  check(file: Dockerfile, options: LintOptions): string[];
}

const runs = (file: Dockerfile) =>
  file.stages.flatMap((stage) => stage.instructions.filter((i) => i.keyword === 'RUN'));
const at = (i: Instruction) => `line ${i.line}`;

function expandArgs(value: string, args: Map<string, string>): string {
  return value.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => args.get(name) ?? whole);
}

export const RULES: Rule[] = [
  {
    id: 'DL3006',
    description: 'Always tag the version of an image explicitly',
    check: (file) => {
      const aliases = new Set(file.stages.map((s) => s.alias));
      return file.stages
        .map((s) => expandArgs(s.image, file.globalArgs))
        .filter((image) => image !== 'scratch' && !aliases.has(image))
        .filter((image) => !/:[^/]+$/.test(image) && !image.includes('@'))
        .map((image) => `FROM ${image} has no tag`);
    },
  },
  {
    id: 'DL3007',
    description: 'Using latest is prone to errors; pin the version',
    check: (file) =>
      file.stages
        .map((s) => expandArgs(s.image, file.globalArgs))
        .filter((image) => /:latest$/.test(image))
        .map((image) => `FROM ${image}`),
  },
  {
    id: 'DL3000',
    description: 'Use absolute WORKDIR',
    check: (file) =>
      file.stages
        .flatMap((s) => s.instructions.filter((i) => i.keyword === 'WORKDIR' && !i.rest.startsWith('/')))
        .map((i) => `${at(i)}: WORKDIR ${i.rest}`),
  },
  {
    id: 'DL3002',
    description: 'Last USER should not be root',
    check: (file) => {
      const user = last(finalStage(file), 'USER');
      if (!user) return ['the final stage sets no USER: it runs as root'];
      return /^(root|0)(:|$)/.test(user.rest) ? [`${at(user)}: USER ${user.rest}`] : [];
    },
  },
  {
    id: 'DL3020',
    description: 'Use COPY instead of ADD for files and folders',
    check: (file) =>
      file.stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'ADD')).map((i) => `${at(i)}: ADD`),
  },
  {
    id: 'DL3025',
    description: 'Use arguments JSON notation for CMD and ENTRYPOINT arguments',
    check: (file) =>
      file.stages
        .flatMap((s) => s.instructions.filter((i) => ['CMD', 'ENTRYPOINT'].includes(i.keyword)))
        .filter((i) => execForm(i.rest) === undefined)
        .map((i) => `${at(i)}: ${i.keyword} ${i.rest}`),
  },
  {
    id: 'DL3003',
    description: 'Use WORKDIR to switch to a directory',
    check: (file) =>
      runs(file)
        .filter((i) => /(^|&&|;|\|\|)\s*cd\s/.test(i.rest))
        .map((i) => `${at(i)}: cd in RUN`),
  },
  {
    id: 'DL3004',
    description: 'Do not use sudo',
    check: (file) =>
      runs(file)
        .filter((i) => /\bsudo\b/.test(i.rest))
        .map((i) => `${at(i)}: sudo`),
  },
  {
    id: 'DL3008',
    description: 'Pin versions in apt-get install',
    check: (file) =>
      runs(file).flatMap((i) =>
        aptPackages(i.rest)
          .filter((p) => !p.includes('='))
          .map((p) => `${at(i)}: ${p}`),
      ),
  },
  {
    id: 'DL3009',
    description: 'Delete the apt-get lists after installing something',
    check: (file) =>
      runs(file)
        .filter((i) => /apt-get\s+install/.test(i.rest) && !/rm\s+-rf\s+\/var\/lib\/apt\/lists/.test(i.rest))
        .map((i) => `${at(i)}: apt lists kept`),
  },
  {
    id: 'DL3015',
    description: 'Avoid additional packages by specifying --no-install-recommends',
    check: (file) =>
      runs(file)
        .filter((i) => /apt-get\s+install/.test(i.rest) && !i.rest.includes('--no-install-recommends'))
        .map((i) => `${at(i)}: apt-get install without --no-install-recommends`),
  },
  {
    id: 'DL3013',
    description: 'Pin versions in pip install',
    check: (file) =>
      runs(file).flatMap((i) =>
        installArguments(i.rest, /pip3?\s+install/)
          .filter((p) => !/[=<>~]=/.test(p) && !p.endsWith('.whl'))
          .map((p) => `${at(i)}: ${p}`),
      ),
  },
  {
    id: 'DL3042',
    description: 'Avoid the pip cache with pip install --no-cache-dir',
    check: (file) =>
      runs(file)
        .filter((i) => /pip3?\s+install/.test(i.rest) && !i.rest.includes('--no-cache-dir'))
        .map((i) => `${at(i)}: pip install without --no-cache-dir`),
  },
  {
    id: 'DL3016',
    description: 'Pin versions in npm install',
    check: (file) =>
      runs(file).flatMap((i) =>
        installArguments(i.rest, /npm\s+(install|i|add)\b/)
          .filter((p) => !/^@?[^@]+@[^@]+$/.test(p))
          .map((p) => `${at(i)}: ${p}`),
      ),
  },
  {
    id: 'DL4006',
    description: 'Set -o pipefail before RUN with a pipe in it',
    check: (file) => {
      const pipefail = file.stages.some((s) =>
        s.instructions.some((i) => i.keyword === 'SHELL' && i.rest.includes('pipefail')),
      );
      return pipefail
        ? []
        : runs(file)
            .filter((i) => /[^|]\|[^|]/.test(i.rest))
            .map((i) => `${at(i)}: pipe without pipefail`);
    },
  },
  {
    id: 'DL3022',
    description: 'COPY --from should reference a previously defined FROM alias',
    check: (file) =>
      file.stages.flatMap((stage, index) => {
        const earlier = new Set(file.stages.slice(0, index).map((s) => s.alias));
        return stage.instructions
          .filter((i) => i.keyword === 'COPY')
          .map((i) => ({ i, from: /--from=(\S+)/.exec(i.rest)?.[1] }))
          .filter(({ from }) => from !== undefined && !earlier.has(from) && !/^\d+$/.test(from) && !from.includes(':'))
          .map(({ i, from }) => `${at(i)}: --from=${from}`);
      }),
  },
  {
    id: 'DL3024',
    description: 'FROM aliases (stage names) should be unique',
    check: (file) => {
      const aliases = file.stages.map((s) => s.alias).filter((a) => a !== undefined);
      return aliases.filter((a, i) => aliases.indexOf(a) !== i).map((a) => `stage ${a} defined twice`);
    },
  },
  {
    id: 'DL4000',
    description: 'MAINTAINER is deprecated',
    check: (file) =>
      file.stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'MAINTAINER')).map((i) => at(i)),
  },
  {
    id: 'AS001',
    description: 'The final USER is a numeric non-zero uid (Kubernetes can only check runAsNonRoot for those)',
    check: (file) => {
      const user = last(finalStage(file), 'USER');
      return user && /^[1-9]\d*(:\d+)?$/.test(user.rest) ? [] : [`USER ${user?.rest ?? '(none)'}`];
    },
  },
  {
    id: 'AS002',
    description: 'The process is PID 1: exec-form ENTRYPOINT/CMD, no shell or package manager in between',
    check: (file) => {
      const stage = finalStage(file);
      const argv = [
        ...(execForm(last(stage, 'ENTRYPOINT')?.rest ?? '[]') ?? []),
        ...(last(stage, 'ENTRYPOINT') ? [] : (execForm(last(stage, 'CMD')?.rest ?? '[]') ?? [])),
      ];
      if (argv.length === 0) return ['no ENTRYPOINT or CMD'];
      return /^(\/bin\/)?(sh|bash|npm|npx|yarn|pnpm)$/.test(argv[0] ?? '') ? [`starts with ${argv[0]}`] : [];
    },
  },
  {
    id: 'AS003',
    description: 'EXPOSE exactly the ports the process listens on beyond the pod',
    check: (file, options) => {
      const exposed = finalStage(file)
        .instructions.filter((i) => i.keyword === 'EXPOSE')
        .flatMap((i) => i.rest.split(/\s+/).map((p) => Number.parseInt(p, 10)));
      const want = [...options.ports].sort();
      const got = [...exposed].sort();
      return JSON.stringify(want) === JSON.stringify(got)
        ? []
        : [`EXPOSE ${got.join(' ')}; expected ${want.join(' ')}`];
    },
  },
  {
    id: 'AS004',
    description: 'Multi-stage: build with dev dependencies, run with production ones only',
    check: (file, options) => {
      if (!options.node) return [];
      const problems: string[] = [];
      if (file.stages.length < 2) problems.push('a single stage: build tools end up in the image');
      const final = finalStage(file);
      for (const i of final.instructions.filter((x) => x.keyword === 'RUN' && /(^|&&|;|\|\|)\s*npm\s/.test(x.rest))) {
        problems.push(`${at(i)}: npm runs in the final stage`);
      }
      const installs = file.stages.flatMap((s) =>
        s.instructions.filter((i) => i.keyword === 'RUN' && /npm\s+ci\b/.test(i.rest)),
      );
      if (!installs.some((i) => i.rest.includes('--omit=dev'))) problems.push('no `npm ci --omit=dev` stage');
      const copiesModules = final.instructions.filter((i) => i.keyword === 'COPY' && i.rest.includes('node_modules'));
      for (const i of copiesModules) {
        const from = /--from=(\S+)/.exec(i.rest)?.[1];
        const source = file.stages.find((s) => s.alias === from);
        const omitsDev = source?.instructions.some((x) => x.keyword === 'RUN' && x.rest.includes('--omit=dev'));
        if (!omitsDev) problems.push(`${at(i)}: node_modules copied from a stage with dev dependencies`);
      }
      return problems;
    },
  },
];

function aptPackages(command: string): string[] {
  return installArguments(command, /apt-get\s+(-\S+\s+)*install/);
}

/** The package arguments of an install command (flags and what follows `&&` left out). */
function installArguments(command: string, install: RegExp): string[] {
  const packages: string[] = [];
  for (const part of command.split(/&&|;|\|\|/)) {
    const match = install.exec(part);
    if (!match) continue;
    const words = part
      .slice(match.index + match[0].length)
      .trim()
      .split(/\s+/);
    for (let i = 0; i < words.length; i++) {
      const word = words[i] ?? '';
      if (word === '-r' || word === '--requirement' || word === '-c') i++;
      else if (word && !word.startsWith('-')) packages.push(word);
    }
  }
  return packages;
}

export function lint(text: string, options: LintOptions): string[] {
  const file = parseDockerfile(text);
  return RULES.flatMap((rule) => rule.check(file, options).map((p) => `${rule.id} ${rule.description}: ${p}`));
}

/** Whether `.dockerignore` (Docker's rules: last match wins, `!` re-includes) leaves a path in the context. */
export function inContext(path: string, dockerignore: string): boolean {
  let included = true;
  for (const raw of dockerignore.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
    if (matchesPathOrParent(pattern, path)) included = negated;
  }
  return included;
}

function matchesPathOrParent(pattern: string, path: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('**')
      .map((part) =>
        part
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]'),
      )
      .join('.*')}$`,
  );
  const segments = path.split('/');
  return segments.some((_, i) => regex.test(segments.slice(0, i + 1).join('/')));
}

/** Files under `dir` (relative paths), for checking what a COPY of a folder takes. */
export function filesUnder(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full, root) : [relative(root, full)];
  });
}

/** COPY sources from the build context (not --from) that are missing or that .dockerignore leaves out. */
export function contextProblems(dockerfilePath: string): string[] {
  const context = dirname(dockerfilePath);
  const ignorePath = join(context, '.dockerignore');
  if (!existsSync(ignorePath)) return ['no .dockerignore next to the Dockerfile'];
  const dockerignore = readFileSync(ignorePath, 'utf8');
  const problems: string[] = [];
  for (const stage of parseDockerfile(readFileSync(dockerfilePath, 'utf8')).stages) {
    for (const i of stage.instructions.filter((x) => x.keyword === 'COPY' && !x.rest.includes('--from='))) {
      const words = i.rest.split(/\s+/).filter((w) => !w.startsWith('--'));
      for (const source of words.slice(0, -1)) {
        const path = join(context, source);
        if (!existsSync(path)) {
          problems.push(`line ${i.line}: COPY ${source}: no such file`);
          continue;
        }
        const files = statSync(path).isDirectory()
          ? filesUnder(path).map((f) => join(source, f))
          : [source.replace(/^\.\//, '')];
        if (!files.some((f) => inContext(f, dockerignore))) {
          problems.push(`line ${i.line}: COPY ${source}: left out of the context by .dockerignore`);
        }
      }
    }
  }
  for (const secretish of ['.git/HEAD', 'node_modules/x', '.env', 'coverage/x', 'dist/cli.js']) {
    if (inContext(secretish, dockerignore)) problems.push(`${secretish} would be sent to the builder`);
  }
  return problems;
}
