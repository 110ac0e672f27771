// Pod-level tests: the pods the manifests render, run as local processes with exactly the
// config, env, mounts and ports the manifests give them (see local-pod.ts), and requests sent
// through the port the Service targets, as the seed's curl does through the NodePort.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCa, issueServer } from '../support/certificates.ts';
import { createSigningKey, jwksOf, pkcs8Pem, type SigningKey, signToken } from '../support/keys.ts';
import { LocalPod, type PodProcess } from './local-pod.ts';
import { type Container, container, type PodSpec, planPod, podSpecOf } from './pod-plan.ts';
import { helmTemplate, type K8sObject, kustomize, parseManifests, REPO } from './render.ts';

// Each test starts a whole pod (and waits up to 40 s for it to be ready, see waitFor).
vi.setConfig({ testTimeout: 90_000 });

const SIDECAR = 'auth-sidecar';
/** What the pod's processes run from, kept visible whatever the pod mounts (CI may clone under /tmp). */
const KEEP = [REPO.replace(/\/$/, ''), dirname(process.execPath)];
let pod: LocalPod | undefined;

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first');
});

afterEach(async () => {
  await pod?.stop();
  pod = undefined;
});

function deploymentOf(objects: K8sObject[], name?: string): K8sObject {
  const found = objects.find((o) => o.kind === 'Deployment' && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no Deployment ${name ?? ''}`);
  return found;
}

/** The container port a Service's targetPort names: where the NodePort's traffic lands. */
function servicePort(objects: K8sObject[], pod: PodSpec, serviceName: string): number {
  const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === serviceName);
  const targetPort = (service?.spec as { ports: { targetPort: number | string }[] } | undefined)?.ports[0]?.targetPort;
  if (typeof targetPort === 'number') return targetPort;
  const port = [...(pod.initContainers ?? []), ...pod.containers]
    .flatMap((c: Container) => c.ports ?? [])
    .find((p) => p.name === targetPort);
  if (!port) throw new Error(`Service ${serviceName} targets ${String(targetPort)}, which no container declares`);
  return port.containerPort;
}

function adminPort(sidecar: Container): number {
  const port = sidecar.ports?.find((p) => p.name === 'sidecar-admin')?.containerPort;
  if (port === undefined) throw new Error('the sidecar declares no admin port');
  return port;
}

interface RunningPod {
  pod: LocalPod;
  processes: Map<string, PodProcess>;
  /** http://127.0.0.1:<the port the Service targets> */
  url: string;
}

/** Starts every container of the Deployment's pod and waits until the sidecar is ready. */
async function startPod(objects: K8sObject[], deployment: K8sObject, serviceName: string): Promise<RunningPod> {
  const spec = podSpecOf(deployment);
  const plan = planPod(spec, objects);
  pod = await LocalPod.start(plan.mounts, KEEP);
  const processes = new Map<string, PodProcess>();
  for (const [name, process] of plan.processes) processes.set(name, pod.spawn(process));
  const admin = adminPort(container(spec, SIDECAR));
  try {
    await pod.waitFor(`http://127.0.0.1:${admin}/readyz`, 200);
  } catch (error) {
    const output = [...processes].map(([name, p]) => `--- ${name}\n${p.stdout}${p.stderr}`).join('\n');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return { pod, processes, url: `http://127.0.0.1:${servicePort(objects, spec, serviceName)}` };
}

/** The sidecar's own argv with `serve` replaced by `check-config`, run in a pod with the same mounts. */
async function checkConfig(objects: K8sObject[], deployment: K8sObject) {
  const spec = podSpecOf(deployment);
  const plan = planPod(spec, objects);
  const sidecar = plan.processes.get(SIDECAR);
  if (!sidecar) throw new Error('no sidecar container');
  pod = await LocalPod.start(plan.mounts, KEEP);
  const argv = sidecar.argv.map((arg) => (arg === 'serve' ? 'check-config' : arg));
  expect(argv).toContain('check-config');
  return pod.run({ ...sidecar, argv });
}

/** The node script of docs/deploy.md's "is the app on 127.0.0.1 only" check, as printed there. */
const LISTEN_CHECK = (() => {
  const doc = readFileSync(join(REPO, 'docs/deploy.md'), 'utf8');
  const block = /<!-- listen-check:start -->\n```sh\n([\s\S]*?)```\n<!-- listen-check:end -->/.exec(doc)?.[1] ?? '';
  const script = /node -e '([\s\S]*?)' "\$\{PORT:-5000\}"/.exec(block)?.[1];
  if (script === undefined) throw new Error('docs/deploy.md has no listen check');
  return script;
})();

/** Listening TCP sockets in the pod, as "address:port" (from /proc/net/tcp of its network). */
async function listeners(p: LocalPod): Promise<string[]> {
  const { stdout } = await p.run({ argv: ['cat', '/proc/net/tcp'] });
  return stdout
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === '0A')
    .map((fields) => {
      const [hex = '', port = ''] = (fields[1] ?? '').split(':');
      const ip = (hex.match(/../g) ?? []).reverse().map((b) => Number.parseInt(b, 16));
      return `${ip.join('.')}:${Number.parseInt(port, 16)}`;
    })
    .sort();
}

describe('examples/flask/k8s.yaml: the seed pod', () => {
  const objects = parseManifests(readFileSync(join(REPO, 'examples/flask/k8s.yaml'), 'utf8'));
  const deployment = deploymentOf(objects, 'legacy-flask');

  it('check-config accepts the config the ConfigMap and Secret give the sidecar', async () => {
    const result = await checkConfig(objects, deployment);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^config ok: listen 0\.0\.0\.0:4180, upstream http:\/\/127\.0\.0\.1:5000/);
  });

  it('the app listens on 127.0.0.1 only, the sidecar on the pod port; curl through it as the seed does', async () => {
    const running = await startPod(objects, deployment, 'legacy-flask');
    expect(await listeners(running.pod)).toEqual(['0.0.0.0:4180', '0.0.0.0:4181', '127.0.0.1:5000']);

    // docs/deploy.md's check, as a user runs it with kubectl exec: ok for the app's port, and
    // EXPOSED for a port something in the pod opened on every address.
    const check = (port: number) => running.pod.run({ argv: [process.execPath, '-e', LISTEN_CHECK, String(port)] });
    expect(await check(5000)).toMatchObject({ code: 0, stdout: 'ok: port 5000 listens on 127.0.0.1 only\n' });
    const wide = running.pod.spawn({
      argv: [process.execPath, '-e', `require('node:net').createServer().listen(5001, () => console.log('listening'))`],
    });
    await wide.waitForOutput('listening');
    expect(await check(5001)).toMatchObject({
      code: 1,
      stdout: 'EXPOSED: port 5001 listens beyond 127.0.0.1; bind the app to 127.0.0.1\n',
    });
    wide.child.kill();

    const anonymous = await running.pod.curl([`${running.url}/`]);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm="legacy-flask"/);
    expect(anonymous.body).not.toContain('identity_headers');

    const health = await running.pod.curl([`${running.url}/healthz`]);
    expect(health.status).toBe(200);
    expect(health.body).toBe('ok\n');

    const wrong = await running.pod.curl(['-u', 'demo:not-the-password', `${running.url}/`]);
    expect(wrong.status).toBe(401);

    const spoofed = await running.pod.curl([
      '-u',
      'demo:demo-password',
      '-H',
      'X-Forwarded-User: admin',
      '-H',
      'X-Forwarded-Groups: admins',
      `${running.url}/reports?q=1`,
    ]);
    expect(spoofed.status).toBe(200);
    const seen = JSON.parse(spoofed.body) as { app: string; path: string; user: string; groups: string[] };
    expect(seen).toMatchObject({ app: 'legacy-flask', path: '/reports', user: 'demo', groups: [] });

    // Every path the sidecar lets through reaches the app's catch-all, /static/** included (the
    // forward-auth examples' public route): Flask's own static folder would answer 404.
    const asset = await running.pod.curl(['-u', 'demo:demo-password', `${running.url}/static/app.js`]);
    expect(asset.status).toBe(200);
    expect(JSON.parse(asset.body)).toMatchObject({ app: 'legacy-flask', path: '/static/app.js', user: 'demo' });

    // kubectl logs <pod> -c auth-sidecar: one JSON access line per request, no credentials.
    const sidecar = running.processes.get(SIDECAR);
    if (!sidecar) throw new Error('no sidecar process');
    const access = await sidecar.waitForLogLine((line) => line.path === '/reports');
    expect(access).toMatchObject({
      method: 'GET',
      status: 200,
      user: 'demo',
      authMethod: 'basic',
      upstreamStatus: 200,
    });
    expect(sidecar.logLines().filter((line) => line.path === '/reports')).toHaveLength(1);
    expect(sidecar.stdout).not.toContain('demo-password');
    expect(sidecar.stdout).not.toContain(Buffer.from('demo:demo-password').toString('base64'));
  });
});

describe('the Helm chart, ci/jwt-values.yaml', () => {
  let key: SigningKey;
  let jwks: K8sObject;
  const render = (args: string[]) => [
    ...parseManifests(helmTemplate(['-f', join(REPO, 'deploy/helm/auth-sidecar/ci/jwt-values.yaml'), ...args])),
    jwks,
  ];

  beforeAll(async () => {
    key = await createSigningKey('ES256');
    jwks = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app-jwks' },
      data: { 'jwks.json': JSON.stringify(jwksOf(key)) },
    };
  });

  for (const native of [false, true]) {
    it(`${native ? 'native' : 'classic'} sidecar: bearer tokens through the Service port, the route rules apply`, async () => {
      const objects = render(['--set', `sidecar.native=${native}`]);
      const running = await startPod(objects, deploymentOf(objects), 'demo-auth-sidecar');
      const token = (claims: Record<string, unknown>) =>
        signToken(key, { iss: 'https://idp.example.com/realms/demo', aud: 'legacy-app', ...claims });
      const get = (path: string, bearer?: string) =>
        running.pod.curl([...(bearer ? ['-H', `Authorization: Bearer ${bearer}`] : []), `${running.url}${path}`]);

      const anonymous = await get('/');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer /);

      const alice = await token({ sub: 'alice', groups: ['staff'] });
      const ok = await get('/orders', alice);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ path: '/orders', user: 'alice', groups: ['staff'] });
      expect((await get('/admin/users', alice)).status).toBe(403);
      expect((await get('/admin/users', await token({ sub: 'bob', groups: ['admins'] }))).status).toBe(200);

      const foreign = await signToken(key, { iss: 'https://elsewhere.example.com', aud: 'legacy-app' });
      const refused = await get('/', foreign);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
      expect((await get('/healthz')).status).toBe(200);
    });
  }

  it('the env of the manifest reaches the sidecar: a bad AUTH_SIDECAR_* value is refused, naming the key', async () => {
    const objects = render([
      '--set-json',
      'sidecar.env=[{"name":"AUTH_SIDECAR_UPSTREAM__TIMEOUT_SECONDS","value":"soon"}]',
    ]);
    const result = await checkConfig(objects, deploymentOf(objects));
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/^config: upstream\.timeoutSeconds: /m);
  });

  it('a volume whose source is missing is caught, as the kubelet would hold the pod back', () => {
    const objects = render([]).filter((o) => o.metadata.name !== 'app-jwks');
    expect(() => planPod(podSpecOf(deploymentOf(objects)), objects)).toThrow(/ConfigMap app-jwks does not exist/);
  });
});

describe('the sidecar image as PID 1', () => {
  it('SIGTERM drains: readyz turns 503, the request in flight finishes, exit 0', async () => {
    const config = [
      'upstream: { url: "http://127.0.0.1:5000" }',
      'jwt: { secret: "a-test-secret-of-at-least-32-bytes!", algorithms: [HS256], audience: test }',
      'routes: [{ path: "/**", auth: none }]',
      'shutdownTimeoutSeconds: 10',
    ].join('\n');
    pod = await LocalPod.start(
      [{ path: '/etc/auth-sidecar/config', files: { 'config.yaml': config }, readOnly: true }, { path: '/tmp' }],
      KEEP,
    );
    const slowApp = pod.spawn({
      argv: [
        process.execPath,
        '-e',
        `require('node:http').createServer((q, s) => { console.log('got', q.url); setTimeout(() => s.end('slow done'), q.url === '/slow' ? 1500 : 0) })
          .listen(5000, '127.0.0.1', () => console.log('listening'))`,
      ],
    });
    // The image's ENTRYPOINT and CMD with no arguments: the config comes from AUTH_SIDECAR_CONFIG.
    const plan = planPod(
      {
        containers: [{ name: SIDECAR, image: 'auth-sidecar:test', volumeMounts: [] }],
      },
      [],
    );
    const sidecarProcess = plan.processes.get(SIDECAR);
    if (!sidecarProcess) throw new Error('no sidecar');
    expect(sidecarProcess.argv.slice(1)).toEqual([join(REPO, 'dist/cli.js'), 'serve']);
    const pid1 = pod.spawn({
      ...sidecarProcess,
      argv: ['unshare', '--pid', '--fork', '--kill-child', '--', ...sidecarProcess.argv],
    });
    await pod.waitFor('http://127.0.0.1:4181/readyz', 200);
    expect(slowApp.stdout).toContain('listening');
    const nodePid = readFileSync(`/proc/${pid1.child.pid}/task/${pid1.child.pid}/children`, 'utf8').trim();
    expect(readFileSync(`/proc/${nodePid}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);

    const inFlight = pod.curl(['http://127.0.0.1:4180/slow']);
    await slowApp.waitForOutput('got /slow');
    process.kill(Number(nodePid), 'SIGTERM');
    await pod.waitFor('http://127.0.0.1:4181/readyz', 503, 1000);
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('slow done');
    expect(await pid1.exited).toBe(0);
    expect(pid1.logLines().find((l) => l.msg === 'auth-sidecar stopped')).toMatchObject({ exitCode: 0 });
  });
});

describe('check-config accepts the config every manifest gives the sidecar', () => {
  // The Secrets the values files and overlays expect you to create (kubectl create secret ...).
  const userSecrets = (names: string[], keys: Record<string, string>): K8sObject[] =>
    names.map((name) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: keys }));
  const htpasswd = 'demo:$2y$10$eLK8jK0345AvWUo8Z35t3uCQXgkP4ff.xScEcfTtpm.qsa0QOo7HO\n';
  const keys = {
    htpasswd,
    'users.htpasswd': htpasswd,
    'client-secret': 'a-client-secret',
    'cookie-secret': 'a-cookie-secret-of-at-least-32-bytes',
    'redis-password': 'a-redis-password',
    // identityToken: a PKCS#8 private key, and the one it replaces.
    'identity-signing-key': pkcs8Pem(),
    'identity-signing-key-previous': pkcs8Pem(),
  };
  // A keys file must hold at least one usable public key, so the ConfigMap carries a real one.
  let fixtures: K8sObject[] = [];
  beforeAll(async () => {
    const jwks: K8sObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app-jwks' },
      data: { 'jwks.json': JSON.stringify(jwksOf(await createSigningKey('ES256'))) },
    };
    // legacy-app-auth: ci/bitnami-redis-values.yaml's; redis: the one the Bitnami Redis chart makes;
    // app-identity: ci/identity-values.yaml's signing keys; the kubernetes.io/tls Secrets the TLS
    // examples mount, as cert-manager writes them.
    const ca = createCa('Pod test CA');
    const server = issueServer(ca);
    const tls = { 'tls.crt': server.cert.toString(), 'tls.key': server.key.toString(), 'ca.crt': ca.cert.toString() };
    fixtures = [
      ...userSecrets(['app-auth', 'portal-auth', 'auth-sidecar', 'legacy-app-auth', 'redis', 'app-identity'], keys),
      ...userSecrets(['legacy-app-tls', 'auth-sidecar-tls'], tls),
      jwks,
    ];
  });
  const sources: [string, () => string][] = [
    ...readdirSync(join(REPO, 'deploy/helm/auth-sidecar/ci')).map((file): [string, () => string] => [
      `helm ci/${file}`,
      () => helmTemplate(['-f', join(REPO, 'deploy/helm/auth-sidecar/ci', file)]),
    ]),
    ['kustomize overlays/memory', () => kustomize('deploy/kustomize/overlays/memory')],
    ['kustomize overlays/redis', () => kustomize('deploy/kustomize/overlays/redis')],
    ['kustomize overlays/tls', () => kustomize('deploy/kustomize/overlays/tls')],
    ['examples/microservices', () => kustomize('examples/microservices')],
  ];
  for (const [name, render] of sources) {
    it(name, async () => {
      const objects = [...parseManifests(render()), ...fixtures];
      const deployments = objects.filter(
        (o) => o.kind === 'Deployment' && JSON.stringify(o).includes('"name":"auth-sidecar"'),
      );
      expect(deployments.length).toBeGreaterThan(0);
      for (const deployment of deployments) {
        const result = await checkConfig(objects, deployment);
        expect(result.stderr, `${deployment.metadata.name}`).toBe('');
        expect(result.code).toBe(0);
        await pod?.stop();
        pod = undefined;
      }
    });
  }
});
