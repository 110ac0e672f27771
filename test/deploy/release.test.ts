// The GitHub workflows: actionlint (with shellcheck on their shell steps) finds nothing, and
// the release publishes what the manifests deploy: the image the chart and the kustomize
// component name by default, multi-arch, with provenance and an SBOM, on a version tag that
// must equal the package's and the chart's versions.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CHART, REPO, run, tool } from './render.ts';

const WORKFLOWS = join(REPO, '.github/workflows');
const read = (path: string) => readFileSync(join(REPO, path), 'utf8');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: Record<string, { tags?: string[]; branches?: string[] } | null>;
  env: Record<string, string>;
  jobs: Record<string, { steps: Step[]; needs?: string | string[]; permissions?: Record<string, string> }>;
}

const release = parseYaml(read('.github/workflows/release.yml')) as Workflow;
const steps = Object.values(release.jobs).flatMap((job) => job.steps);
const step = (action: string) => steps.find((s) => s.uses?.startsWith(`${action}@`));

describe('GitHub workflows', () => {
  it('pass actionlint, shell steps included', () => {
    const files = readdirSync(WORKFLOWS).map((f) => join(WORKFLOWS, f));
    expect(files.map((f) => f.slice(WORKFLOWS.length + 1)).sort()).toEqual(['ci.yml', 'release.yml']);
    const result = run(tool('actionlint'), ['-no-color', ...files]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(run('shellcheck', ['--version']).status, 'shellcheck (scripts/test-deps.sh installs it)').toBe(0);
  });

  it('release: on a version tag, a linux/amd64 + arm64 image with provenance and an SBOM, then the chart', () => {
    expect(release.on.push?.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+']);
    const build = step('docker/build-push-action');
    expect(build?.with).toMatchObject({
      platforms: 'linux/amd64,linux/arm64',
      push: true,
      provenance: 'mode=max',
      sbom: true,
    });
    expect(step('docker/setup-qemu-action')).toBeDefined();
    expect(step('docker/login-action')?.with?.registry).toBe('ghcr.io');
    expect(release.jobs.image?.permissions).toMatchObject({ packages: 'write', 'id-token': 'write' });
    const chart = release.jobs.chart;
    expect(chart?.needs).toEqual(['versions', 'image']);
    expect(chart?.steps.map((s) => s.run ?? '').join('\n')).toMatch(/helm push .*"\$CHART_REPOSITORY"/);
    expect(release.env.CHART_REPOSITORY).toMatch(/^oci:\/\/ghcr\.io\//);
  });

  it('release: the image it pushes is the default of the chart and of the kustomize component', () => {
    const image = release.env.IMAGE;
    expect(image).toMatch(/^ghcr\.io\/[a-z0-9-]+\/auth-sidecar$/);
    const chart = parseYaml(read('deploy/helm/auth-sidecar/Chart.yaml')) as { version: string; appVersion: string };
    const pkg = JSON.parse(read('package.json')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toBe(pkg.version);
    const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as {
      sidecar: { image: { repository: string; tag: string } };
    };
    expect(values.sidecar.image).toMatchObject({ repository: image, tag: '' }); // tag: the appVersion
    const component = read('deploy/kustomize/components/auth-sidecar/sidecar.yaml');
    expect(component).toContain(`image: ${image}:${pkg.version}\n`);
    // The workflow stops on a tag that is not this version (v0.2.0 for 0.2.0).
    const check = release.jobs.versions?.steps.map((s) => s.run ?? '').join('\n');
    expect(check).toContain('jq -r .version package.json');
    expect(check).toContain('deploy/helm/auth-sidecar/Chart.yaml');
  });
});
