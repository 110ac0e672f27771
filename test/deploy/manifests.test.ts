// Every manifest the repository ships, rendered with the real tools and validated against the
// Kubernetes schemas of the oldest and newest supported releases; and what a user depends on in
// them: the Service reaches only the sidecar, probes use the admin port, the grace period
// covers the drain, the native sidecar switch, the chart's refusals of values that cannot work.
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { chartRouteSchema, routeSchema } from '../../scripts/chart-schema.ts';
import { configSchema } from '../../src/config/schema.ts';
import { tempDir } from '../support/sidecar.ts';
import { type Container, container, type PodSpec, podSpecOf, runningContainers } from './pod-plan.ts';
import {
  CHART,
  helmLint,
  helmTemplate,
  helmTemplateError,
  type K8sObject,
  KUBERNETES_VERSIONS,
  kustomize,
  parseManifests,
  REPO,
  run,
  tool,
  validate,
} from './render.ts';

const CI_VALUES = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'));
const valuesFile = (name: string) => join(CHART, 'ci', name);

function only<T>(items: T[], what: string): T {
  expect(items, what).toHaveLength(1);
  return items[0] as T;
}

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const sidecarOf = (pod: PodSpec) => container(pod, 'auth-sidecar');

function expectValid(manifests: string): void {
  expect(parseManifests(manifests).length).toBeGreaterThan(0);
  for (const version of KUBERNETES_VERSIONS) {
    const result = validate(manifests, version);
    expect(result.problems, `Kubernetes ${version}`).toEqual([]);
    expect(result.valid).toBe(true);
  }
}

/** What every pod with the sidecar must get right. */
function expectSidecarPod(pod: PodSpec, shutdownTimeoutSeconds = 20): void {
  const sidecar = sidecarOf(pod);
  expect(pod.enableServiceLinks).toBe(false);
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(sidecar.ports?.map((p) => [p.name, p.containerPort])).toEqual([
    ['sidecar-http', 4180],
    ['sidecar-admin', 4181],
  ]);
  expect(sidecar.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'sidecar-admin' } });
  expect(sidecar.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'sidecar-admin' } });
  expect(sidecar.securityContext).toMatchObject({
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    // On the container itself: the component and the named template add it to pods whose
    // pod-level securityContext they do not control.
    seccompProfile: { type: 'RuntimeDefault' },
  });
  const preStop = Number(
    (sidecar.lifecycle as { preStop?: { exec: { command: string[] } } } | undefined)?.preStop?.exec.command[1] ?? 0,
  );
  expect(pod.terminationGracePeriodSeconds as number).toBeGreaterThan(preStop + shutdownTimeoutSeconds);
  expect(sidecar.volumeMounts?.find((m) => m.mountPath === '/tmp')).toBeDefined();
}

/** Port names are unique in the pod, so a Service's targetPort can only mean one container. */
function expectUniquePortNames(pod: PodSpec): void {
  const names = runningContainers(pod).flatMap((c) => (c.ports ?? []).map((p) => p.name));
  expect(names.length).toBeGreaterThan(0);
  expect(new Set(names).size, names.join(', ')).toBe(names.length);
}

/** The container a Service's named targetPort reaches: the first that declares the name. */
function containerNamed(pod: PodSpec, portName: string): string | undefined {
  return runningContainers(pod).find((c) => c.ports?.some((p) => p.name === portName))?.name;
}

function expectServiceTargetsSidecar(objects: K8sObject[], pod: PodSpec): void {
  const sidecarPorts = sidecarOf(pod).ports ?? [];
  for (const service of ofKind(objects, 'Service').filter((s) => !s.metadata.name.includes('redis'))) {
    const ports = (service.spec as { ports: { targetPort: unknown }[] }).ports;
    const name =
      service.metadata.labels?.['app.kubernetes.io/component'] === 'admin' ? 'sidecar-admin' : 'sidecar-http';
    const number = sidecarPorts.find((p) => p.name === name)?.containerPort;
    // A native sidecar's named ports get no endpoints before Kubernetes 1.32: by number there.
    const expected = pod.initContainers?.includes(sidecarOf(pod)) ? [number] : [expect.toBeOneOf([name, number])];
    expect(
      ports.map((p) => p.targetPort),
      service.metadata.name,
    ).toEqual(expected);
  }
  const named = runningContainers(pod).filter((c: Container) => c.ports?.some((p) => p.name === 'sidecar-http'));
  expect(named.map((c) => c.name)).toEqual(['auth-sidecar']);
}

describe('Helm chart', () => {
  it('Chart.yaml appVersion is the image tag the public templates default to', () => {
    const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    const helpers = readFileSync(join(CHART, 'templates/_helpers.tpl'), 'utf8');
    expect(helpers).toContain(`{{ else }}${chart.appVersion}{{ end -}}`);
  });

  for (const file of CI_VALUES) {
    describe(`ci/${file}`, () => {
      it('helm lint --strict passes', () => {
        const result = helmLint(['-f', valuesFile(file), '--kube-version', KUBERNETES_VERSIONS[0] ?? '']);
        expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
        expect(result.status).toBe(0);
      });

      for (const version of KUBERNETES_VERSIONS) {
        it(`helm template for Kubernetes ${version}: every object is valid`, () => {
          const manifests = helmTemplate(['-f', valuesFile(file)], version);
          const result = validate(manifests, version);
          expect(result.problems).toEqual([]);
          expect(result.checked).toBe(parseManifests(manifests).length);
        });
      }

      it('the pod gets the sidecar right and the Service reaches only it', () => {
        const objects = parseManifests(helmTemplate(['-f', valuesFile(file)]));
        const pod = podSpecOf(only(ofKind(objects, 'Deployment'), 'Deployment'));
        const values = parseYaml(readFileSync(valuesFile(file), 'utf8')) as { config?: Record<string, number> };
        expectSidecarPod(pod, values.config?.shutdownTimeoutSeconds);
        expectServiceTargetsSidecar(objects, pod);
      });
    });
  }

  it('the default is a classic sidecar: a second container', () => {
    const pod = podSpecOf(
      only(ofKind(parseManifests(helmTemplate(['-f', valuesFile('jwt-values.yaml')])), 'Deployment'), ''),
    );
    expect(pod.containers.map((c) => c.name)).toEqual(['app', 'auth-sidecar']);
    expect(pod.initContainers).toBeUndefined();
    expect(sidecarOf(pod).restartPolicy).toBeUndefined();
  });

  it('sidecar.native: an init container with restartPolicy Always, first, so it starts before the app', () => {
    const objects = parseManifests(
      helmTemplate([
        '-f',
        valuesFile('jwt-values.yaml'),
        '--set',
        'sidecar.native=true',
        '--set-json',
        'initContainers=[{"name":"migrate","image":"migrate:1"}]',
      ]),
    );
    const pod = podSpecOf(only(ofKind(objects, 'Deployment'), ''));
    expect(pod.initContainers?.map((c) => [c.name, c.restartPolicy])).toEqual([
      ['auth-sidecar', 'Always'],
      ['migrate', undefined],
    ]);
    expect(pod.containers.map((c) => c.name)).toEqual(['app']);
    expectSidecarPod(pod);
    expectServiceTargetsSidecar(objects, pod);
  });

  it('sidecar.native on a cluster older than 1.29 is refused', () => {
    const error = helmTemplateError(['-f', valuesFile('jwt-values.yaml'), '--set', 'sidecar.native=true'], '1.28.9');
    expect(error).toContain('sidecar.native needs Kubernetes 1.29 or later');
  });

  it('the config gets secret files only for the methods switched on, from the mounted Secret', () => {
    const objects = parseManifests(helmTemplate(['-f', valuesFile('oidc-redis-native-values.yaml')]));
    const config = parseYaml(
      (only(ofKind(objects, 'ConfigMap'), 'ConfigMap').data as Record<string, string>)['config.yaml'] ?? '',
    ) as Record<string, Record<string, unknown>>;
    expect(config.oidc).toMatchObject({ clientSecretFile: '/etc/auth-sidecar/secrets/client-secret' });
    expect(config.session).toMatchObject({
      store: 'redis',
      // A list of keys rotates: the first signs, every one verifies.
      cookie: {
        secretFile: ['/etc/auth-sidecar/secrets/cookie-secret', '/etc/auth-sidecar/secrets/cookie-secret-previous'],
        sameSite: 'lax',
      },
      redis: { passwordFile: '/etc/auth-sidecar/secrets/redis-password' },
    });
    expect(config.basic).toBeUndefined();
    expect(Object.keys(config.oidc ?? {})).not.toContain('enabled');
    expect(Object.keys(config.oidc ?? {})).not.toContain('clientSecretKey');
    expect(JSON.stringify(config)).not.toContain('ci-client-secret');
    const secret = only(ofKind(objects, 'Secret'), 'Secret');
    expect(Object.keys(secret.stringData as object).sort()).toEqual([
      'client-secret',
      'cookie-secret',
      'cookie-secret-previous',
      'redis-password',
    ]);
  });

  it('identityToken signs with keys from the mounted Secret; claim headers and rules reach the config', () => {
    const objects = parseManifests(helmTemplate(['-f', valuesFile('identity-values.yaml')]));
    const data = only(ofKind(objects, 'ConfigMap'), 'ConfigMap').data as Record<string, string>;
    const config = parseYaml(data['config.yaml'] ?? '') as Record<string, unknown>;
    expect(config.identityToken).toEqual({
      signingKeyFile: [
        '/etc/auth-sidecar/secrets/identity-signing-key',
        '/etc/auth-sidecar/secrets/identity-signing-key-previous',
      ],
      audience: 'legacy-app',
      ttlSeconds: 120,
    });
    // What the sidecar itself accepts (its key files exist only in the pod).
    expect(configSchema.safeParse(config).error?.issues ?? []).toEqual([]);
    expect(config.identityHeaders).toEqual({
      'X-Forwarded-Department': 'department',
      'X-Forwarded-Roles': 'realm_access.roles',
    });
    expect((config.routes as { allow: unknown }[]).map((route) => route.allow)).toEqual([
      { sourceCidrs: ['10.42.0.0/16'] },
      { claims: { department: ['eng', 'ops'], 'realm_access.roles': ['operator'] }, sourceCidrs: ['10.0.0.0/8'] },
    ]);
    const pod = podSpecOf(only(ofKind(objects, 'Deployment'), 'Deployment'));
    expect(sidecarOf(pod).volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'auth-sidecar-secrets', mountPath: '/etc/auth-sidecar/secrets' }),
    );
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({
        name: 'auth-sidecar-secrets',
        secret: expect.objectContaining({ secretName: 'app-identity' }),
      }),
    );
  });

  it('jwt.entries gives one jwt entry per issuer', () => {
    const objects = parseManifests(helmTemplate(['-f', valuesFile('all-methods-sentinel-values.yaml')]));
    const data = only(ofKind(objects, 'ConfigMap'), 'ConfigMap').data as Record<string, string>;
    const config = parseYaml(data['config.yaml'] ?? '') as { jwt: { issuer: string }[] };
    expect(config.jwt.map((entry) => entry.issuer)).toEqual([
      'https://accounts.example.com',
      'https://partners.example.com',
    ]);
  });

  it('NetworkPolicy admits the sidecar port, and the admin port only from adminFrom', () => {
    const objects = parseManifests(helmTemplate(['-f', valuesFile('oidc-redis-native-values.yaml')]));
    const policy = only(ofKind(objects, 'NetworkPolicy'), 'NetworkPolicy');
    const rules = (policy.spec as { ingress: { ports: { port: string }[]; from: unknown[] }[] }).ingress;
    // By number: not every NetworkPolicy plugin resolves the named ports of a native sidecar.
    expect(rules.map((r) => r.ports.map((p) => p.port))).toEqual([[4180], [4181]]);
    expect(rules[1]?.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    const monitor = only(ofKind(objects, 'ServiceMonitor'), 'ServiceMonitor');
    expect(monitor.spec).toMatchObject({ endpoints: [{ port: 'admin', path: '/metrics' }] });
  });

  it('the grace period covers the preStop sleep and the drain, and a shorter one is refused', () => {
    const objects = parseManifests(
      helmTemplate(['-f', valuesFile('jwt-values.yaml'), '--set', 'config.shutdownTimeoutSeconds=40']),
    );
    expect(podSpecOf(only(ofKind(objects, 'Deployment'), '')).terminationGracePeriodSeconds).toBe(50);
    const error = helmTemplateError(['-f', valuesFile('jwt-values.yaml'), '--set', 'terminationGracePeriodSeconds=25']);
    expect(error).toContain(
      'terminationGracePeriodSeconds (25) must exceed the preStop sleep plus config.shutdownTimeoutSeconds (25)',
    );
  });

  it('tls.existingSecret: the whole Secret at /etc/auth-sidecar/tls, the config pointed at it, probes still HTTP', () => {
    const objects = parseManifests(helmTemplate(['-f', valuesFile('tls-mtls-values.yaml')]));
    const pod = podSpecOf(only(ofKind(objects, 'Deployment'), ''));
    const sidecar = sidecarOf(pod);
    // No subPath: Kubernetes updates a Secret volume in place only when it is mounted whole.
    expect(sidecar.volumeMounts?.find((m) => m.name === 'auth-sidecar-tls')).toEqual({
      name: 'auth-sidecar-tls',
      mountPath: '/etc/auth-sidecar/tls',
      readOnly: true,
    });
    expect((pod.volumes as { name: string }[]).find((v) => v.name === 'auth-sidecar-tls')).toMatchObject({
      secret: { secretName: 'legacy-app-tls' },
    });
    for (const probe of [sidecar.startupProbe, sidecar.livenessProbe, sidecar.readinessProbe]) {
      expect(probe).toMatchObject({ httpGet: { port: 'sidecar-admin' } });
      expect((probe as { httpGet: { scheme?: string } }).httpGet.scheme ?? 'HTTP').toBe('HTTP');
    }
    const data = only(ofKind(objects, 'ConfigMap'), 'ConfigMap').data as Record<string, string>;
    expect(parseYaml(data['config.yaml'] ?? '')).toMatchObject({
      tls: {
        certFile: '/etc/auth-sidecar/tls/tls.crt',
        keyFile: '/etc/auth-sidecar/tls/tls.key',
        clientCaFile: '/etc/auth-sidecar/tls/ca.crt',
        requireClientCert: false,
      },
      mtls: { claims: { user: 'san.uri' } },
    });
    const service = only(ofKind(objects, 'Service'), 'Service').spec as { ports: { appProtocol?: string }[] };
    expect(service.ports[0]?.appProtocol).toBe('https');
    // Without tls: no mount, no tls key, no appProtocol.
    const plain = parseManifests(helmTemplate(['-f', valuesFile('jwt-values.yaml')]));
    expect(JSON.stringify(plain)).not.toContain('auth-sidecar-tls');
    expect(JSON.stringify(plain)).not.toContain('appProtocol');
  });

  const JWT = ['--set', 'jwt.enabled=true', '--set', 'jwt.audience=a'];

  it('config.routes is checked by values.schema.json as the sidecar checks it (a typo fails helm lint)', () => {
    expect(chartRouteSchema(), 'run: node scripts/chart-schema.ts --write').toEqual(routeSchema());
    const typo = ['--set-json', 'config.routes=[{"path":"/admin/**","alow":{"groups":["admins"]}}]'];
    expect(helmTemplateError([...JWT, ...typo])).toContain("additional properties 'alow' not allowed");
    const lint = helmLint([...JWT, ...typo]);
    expect(lint.status).not.toBe(0);
    expect(lint.stdout + lint.stderr).toContain('alow');
    const badMethod = ['--set-json', 'config.routes=[{"path":"/a","auth":["ldap"]}]'];
    expect(helmTemplateError([...JWT, ...badMethod])).toContain('/config/routes/0/auth');
  });

  it('an Ingress and a ServiceAccount of its own (ci/bitnami-redis-values.yaml)', () => {
    const objects = parseManifests(helmTemplate(['-f', valuesFile('bitnami-redis-values.yaml')]));
    const service = only(ofKind(objects, 'Service'), 'Service');
    const ingress = only(ofKind(objects, 'Ingress'), 'Ingress');
    expect(ingress.metadata.annotations).toEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ secretName: 'app-example-com-tls', hosts: ['app.example.com'] }],
      rules: [
        {
          host: 'app.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: service.metadata.name, port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    });
    const account = only(ofKind(objects, 'ServiceAccount'), 'ServiceAccount');
    expect(account.automountServiceAccountToken).toBe(false);
    expect(account.metadata.annotations).toEqual({ 'example.com/role': 'legacy-app' });
    const pod = podSpecOf(only(ofKind(objects, 'Deployment'), 'Deployment'));
    expect(pod.serviceAccountName).toBe(account.metadata.name);
    expect(pod.automountServiceAccountToken).toBe(false);
    // The Bitnami chart's Secret reaches the sidecar as a key override, never through values.
    expect(sidecarOf(pod).env).toEqual([
      {
        name: 'AUTH_SIDECAR_SESSION__REDIS__PASSWORD',
        valueFrom: { secretKeyRef: { name: 'redis', key: 'redis-password' } },
      },
    ]);
  });

  it('a Gateway API HTTPRoute to the Service, and an existing ServiceAccount (ci/gateway-api-values.yaml)', () => {
    const objects = parseManifests(helmTemplate(['-f', valuesFile('gateway-api-values.yaml')]));
    const service = only(ofKind(objects, 'Service'), 'Service');
    const route = only(ofKind(objects, 'HTTPRoute'), 'HTTPRoute');
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(route.spec).toEqual({
      parentRefs: [{ name: 'public', namespace: 'gateways', sectionName: 'https' }],
      hostnames: ['api.example.com'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [
            { name: service.metadata.name, port: (service.spec as { ports: { port: number }[] }).ports[0]?.port },
          ],
        },
      ],
    });
    expect(ofKind(objects, 'ServiceAccount')).toEqual([]);
    expect(podSpecOf(only(ofKind(objects, 'Deployment'), 'Deployment')).serviceAccountName).toBe('legacy-api');
    expect(ofKind(parseManifests(helmTemplate(['-f', valuesFile('jwt-values.yaml')])), 'HTTPRoute')).toEqual([]);
  });

  const refusals: [string, string[], string][] = [
    ['no method enabled', [], 'enable at least one of jwt.enabled, oidc.enabled, basic.enabled'],
    [
      'oidc without publicUrl',
      ['--set', 'oidc.enabled=true', '--set', 'oidc.issuer=https://i.example.com', '--set', 'oidc.clientId=c'],
      'config.publicUrl is required',
    ],
    ['basic without a Secret', ['--set', 'basic.enabled=true'], 'the config needs Secret keys (htpasswd)'],
    [
      'oidc with memory sessions on two replicas',
      ['-f', valuesFile('oidc-redis-native-values.yaml'), '--set', 'session.store=memory', '--set', 'replicaCount=2'],
      'set session.store=redis (and session.redis), or replicaCount=1',
    ],
    [
      'a created Secret without the key',
      ['--set', 'basic.enabled=true', '--set', 'secret.create=true'],
      'secret.stringData has no "htpasswd" key',
    ],
    ['redis without an address', [...JWT, '--set', 'session.store=redis'], 'set session.redis.url'],
    [
      'a secret written in values (it would land in the ConfigMap)',
      ['-f', valuesFile('oidc-redis-native-values.yaml'), '--set', 'oidc.clientSecret=s3cret'],
      'oidc.clientSecret would put a secret in the ConfigMap',
    ],
    [
      'secrets anywhere in the passed-through blocks, however deep',
      [
        '--set',
        'jwt.enabled=true',
        '--set-json',
        'jwt.entries=[{"issuer":"https://a.example.com","audience":"a","algorithms":["HS256"],"secret":"s"}]',
        '--set',
        'session.redis.password=p',
      ],
      'jwt.entries.0.secret, session.redis.password would put a secret in the ConfigMap',
    ],
    [
      'one port for the proxy and the admin listener',
      [...JWT, '--set', 'sidecar.adminPort=4180'],
      'sidecar.port and sidecar.adminPort are both 4180',
    ],
    [
      'an app port the sidecar listens on',
      [...JWT, '--set', 'app.port=4180'],
      'app.port 4180 is also a port of the sidecar',
    ],
    ['a method block inside config', [...JWT, '--set', 'config.jwt.audience=b'], 'config.jwt is set by the chart'],
    [
      'an unknown value (values.schema.json)',
      [...JWT, '--set', 'sidecar.imag=x'],
      "additional properties 'imag' not allowed",
    ],
    [
      'a bad pull policy (values.schema.json)',
      [...JWT, '--set', 'sidecar.image.pullPolicy=Sometimes'],
      '/sidecar/image/pullPolicy',
    ],
    ['jwt without audience (values.schema.json)', ['--set', 'jwt.enabled=true'], "missing property 'audience'"],
    ['an Ingress without a host', [...JWT, '--set', 'ingress.enabled=true'], 'ingress.enabled needs ingress.hosts'],
    [
      'an HTTPRoute without a Gateway',
      [...JWT, '--set', 'httpRoute.enabled=true'],
      'httpRoute.enabled needs httpRoute.parentRefs',
    ],
    [
      'client CAs without the TLS Secret',
      [...JWT, '--set', 'tls.clientCaKey=ca.crt'],
      'tls.clientCaKey names a key of tls.existingSecret',
    ],
    [
      'mtls without client CAs',
      [...JWT, '--set', 'tls.existingSecret=s', '--set', 'mtls.claims.user=san.uri'],
      'tls.requireClientCert and mtls need tls.clientCaKey',
    ],
    ['tls written under config', [...JWT, '--set', 'config.tls.certFile=x'], 'config.tls is set by the chart'],
    [
      'jwt keys beside jwt.entries',
      [...JWT, '--set-json', 'jwt.entries=[{"issuer":"https://a.example.com","audience":"a"}]'],
      'put every jwt key inside the entries',
    ],
    [
      'identityToken inside config (its key comes from the Secret)',
      [...JWT, '--set', 'config.identityToken.signingKeyFile=/k.pem'],
      'config.identityToken is set by the chart',
    ],
    [
      'identityToken without a Secret key',
      ['-f', valuesFile('identity-values.yaml'), '--set', 'identityToken.signingKeyKey='],
      'name the Secret key of its private key in identityToken.signingKeyKey',
    ],
    [
      'an empty sourceCidrs list (values.schema.json)',
      [...JWT, '--set-json', 'config.routes=[{"path":"/x","allow":{"sourceCidrs":[]}}]'],
      '/config/routes/0/allow/sourceCidrs',
    ],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuses ${what}`, () => {
      expect(helmTemplateError(args)).toContain(message);
    });
  }

  it('another chart adds the sidecar to its own pods with the public named templates', () => {
    const dir = tempDir('auth-sidecar-parent-chart-');
    mkdirSync(join(dir, 'charts'), { recursive: true });
    mkdirSync(join(dir, 'templates'));
    cpSync(CHART, join(dir, 'charts/auth-sidecar'), { recursive: true });
    writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: shop\nversion: 1.0.0\n');
    writeFileSync(
      join(dir, 'values.yaml'),
      'auth-sidecar:\n  workload:\n    enabled: false\n  jwt:\n    enabled: true\n    issuer: https://idp.example.com\n    audience: shop\n  app:\n    port: 8080\n',
    );
    writeFileSync(
      join(dir, 'templates/deployment.yaml'),
      `{{- $sidecar := dict "Values" (index .Values "auth-sidecar") "Release" .Release }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  selector:
    matchLabels: { app: shop }
  template:
    metadata:
      labels: { app: shop }
    spec:
      enableServiceLinks: false
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 30
      containers:
        - name: shop
          image: shop:1.0.0
          ports:
            - { name: http, containerPort: 8080 }
        {{- include "auth-sidecar.container" $sidecar | nindent 8 }}
      volumes:
        {{- include "auth-sidecar.volumes" $sidecar | nindent 8 }}
`,
    );
    const result = run(tool('helm'), ['template', 'shop', dir, '--kube-version', KUBERNETES_VERSIONS[0] ?? '']);
    expect(result.stderr).toBe('');
    expectValid(result.stdout);
    const objects = parseManifests(result.stdout);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/shop-auth-sidecar',
      'Deployment/shop',
    ]);
    const pod = podSpecOf(only(ofKind(objects, 'Deployment'), ''));
    expectSidecarPod(pod);
    expectUniquePortNames(pod);
    expect(sidecarOf(pod).image).toBe('ghcr.io/auth-sidecar/auth-sidecar:0.2.0');
    const volume = (pod.volumes as { name: string; configMap?: { name: string } }[]).find((v) => v.configMap);
    expect(volume?.configMap?.name).toBe('shop-auth-sidecar');
    const data = only(ofKind(objects, 'ConfigMap'), 'ConfigMap').data as Record<string, string>;
    expect(parseYaml(data['config.yaml'] ?? '')).toMatchObject({
      upstream: { url: 'http://127.0.0.1:8080' },
      jwt: { audience: 'shop' },
    });
  });
});

describe('kustomize', () => {
  for (const overlay of ['overlays/memory', 'overlays/redis', 'overlays/tls']) {
    it(`${overlay}: kubectl kustomize renders valid objects; the component added the sidecar`, () => {
      const manifests = kustomize(`deploy/kustomize/${overlay}`);
      expectValid(manifests);
      const objects = parseManifests(manifests);
      const app = only(
        ofKind(objects, 'Deployment').filter((d) => d.metadata.name === 'legacy-app'),
        'legacy-app',
      );
      const pod = podSpecOf(app);
      expectSidecarPod(pod);
      expectServiceTargetsSidecar(objects, pod);
      const configMap = only(ofKind(objects, 'ConfigMap'), 'ConfigMap');
      expect(configMap.metadata.name).toMatch(/^auth-sidecar-config-[a-z0-9]{10}$/);
      expect(JSON.stringify(pod.volumes)).toContain(configMap.metadata.name);
    });
  }

  it('the redis overlay runs two replicas on Redis sessions; memory keeps one', () => {
    const replicas = (overlay: string) => {
      const deployments = ofKind(parseManifests(kustomize(`deploy/kustomize/${overlay}`)), 'Deployment');
      const app = only(
        deployments.filter((d) => d.metadata.name === 'legacy-app'),
        'legacy-app',
      );
      return (app.spec as { replicas: number }).replicas;
    };
    expect(replicas('overlays/memory')).toBe(1);
    expect(replicas('overlays/redis')).toBe(2);
    const config = (overlay: string) =>
      parseYaml(readFileSync(join(REPO, 'deploy/kustomize', overlay, 'config.yaml'), 'utf8')) as {
        session: { store: string };
      };
    expect(config('overlays/memory').session.store).toBe('memory');
    expect(config('overlays/redis').session.store).toBe('redis');
  });

  it('an app whose port is also named http: the Service still reaches the sidecar, and only its port is admitted', () => {
    const dir = tempDir('auth-sidecar-kustomize-');
    const component = relative(dir, join(REPO, 'deploy/kustomize/components/auth-sidecar'));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      `resources: [app.yaml]\ncomponents: [${component}]\nconfigMapGenerator: [{ name: auth-sidecar-config, files: [config.yaml] }]\n`,
    );
    writeFileSync(join(dir, 'config.yaml'), 'upstream: { url: "http://127.0.0.1:8080" }\n');
    writeFileSync(
      join(dir, 'app.yaml'),
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: shop, labels: { auth-sidecar.io/inject: "true" } }
spec:
  selector: { matchLabels: { app: shop } }
  template:
    metadata: { labels: { app: shop } }
    spec:
      containers:
        - name: shop
          image: shop:1.0.0
          args: ["--bind", "0.0.0.0:8080"]
          ports: [{ name: http, containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: shop }
spec:
  selector: { app: shop }
  ports: [{ name: http, port: 80, targetPort: sidecar-http }]
`,
    );
    const result = run(tool('kubectl'), ['kustomize', dir]);
    expect(result.stderr).toBe('');
    expectValid(result.stdout);
    const objects = parseManifests(result.stdout);
    const deployment = only(ofKind(objects, 'Deployment'), 'Deployment');
    const pod = podSpecOf(deployment);
    expectUniquePortNames(pod);
    const service = only(ofKind(objects, 'Service'), 'Service').spec as { ports: { targetPort: string }[] };
    expect(containerNamed(pod, service.ports[0]?.targetPort ?? '')).toBe('auth-sidecar');
    const policy = only(ofKind(objects, 'NetworkPolicy'), 'NetworkPolicy').spec as {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      ingress: { ports: { port: number }[]; from?: unknown }[];
    };
    const podLabels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template
      .metadata.labels;
    expect(podLabels).toMatchObject(policy.podSelector.matchLabels);
    expect(policy.policyTypes).toEqual(['Ingress']);
    expect(policy.ingress.map((rule) => rule.ports.map((p) => p.port))).toEqual([[4180]]);
  });

  it('the tls component mounts the TLS Secret whole and points tls.certFile and keyFile at it', () => {
    const objects = parseManifests(kustomize('deploy/kustomize/overlays/tls'));
    const pod = podSpecOf(
      only(
        ofKind(objects, 'Deployment').filter((d) => d.metadata.name === 'legacy-app'),
        'legacy-app',
      ),
    );
    const sidecar = sidecarOf(pod);
    expect(sidecar.env).toEqual([
      { name: 'AUTH_SIDECAR_TLS__CERT_FILE', value: '/etc/auth-sidecar/tls/tls.crt' },
      { name: 'AUTH_SIDECAR_TLS__KEY_FILE', value: '/etc/auth-sidecar/tls/tls.key' },
    ]);
    expect(sidecar.volumeMounts?.find((m) => m.mountPath === '/etc/auth-sidecar/tls')).toEqual({
      name: 'auth-sidecar-tls',
      mountPath: '/etc/auth-sidecar/tls',
      readOnly: true,
    });
    expect(JSON.stringify(pod.volumes)).toContain('"secretName":"auth-sidecar-tls"');
    // The sidecar container is still the auth-sidecar component's, with its admin probes.
    expect(sidecar.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'sidecar-admin' } });
  });

  it('the base alone exposes nothing: its Service targets a port only the sidecar declares', () => {
    const objects = parseManifests(kustomize('deploy/kustomize/base'));
    const pod = podSpecOf(only(ofKind(objects, 'Deployment'), ''));
    expect(pod.containers.flatMap((c) => c.ports ?? [])).toEqual([]);
    expect(
      (only(ofKind(objects, 'Service'), '').spec as { ports: { targetPort: string }[] }).ports[0]?.targetPort,
    ).toBe('sidecar-http');
  });
});

/** Files under `dir` (relative to the repository) whose name ends in one of `suffixes`. */
function filesIn(dir: string, suffixes: string[]): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => suffixes.some((suffix) => f.endsWith(suffix)) && !f.split('/').includes('node_modules'))
    .map((f) => join(dir, f))
    .sort();
}

describe('everything, found on disk', () => {
  const kustomizations = [
    ...filesIn('deploy/kustomize', ['kustomization.yaml']),
    ...filesIn('examples', ['kustomization.yaml']),
  ]
    .map((f) => f.slice(0, -'/kustomization.yaml'.length))
    .filter((dir) => !readFileSync(join(REPO, dir, 'kustomization.yaml'), 'utf8').includes('kind: Component'));

  it('finds the kustomizations', () => {
    expect(kustomizations).toEqual(
      expect.arrayContaining(['deploy/kustomize/base', 'deploy/kustomize/overlays/redis']),
    );
  });

  for (const dir of kustomizations) {
    it(`kubectl kustomize ${dir}: every object is valid`, () => {
      expectValid(kustomize(dir));
    });
  }

  // Plain manifests (kubectl create -f) in the examples: any YAML file of Kubernetes objects
  // outside a kustomization folder.
  const plain = filesIn('examples', ['.yaml', '.yml']).filter((file) => {
    const folder = file.slice(0, file.lastIndexOf('/'));
    if (kustomizations.some((dir) => folder === dir || folder.startsWith(`${dir}/`))) return false;
    return parseManifests(readFileSync(join(REPO, file), 'utf8')).some((o) => o.apiVersion && o.kind);
  });

  it('finds the plain manifests', () => {
    expect(plain).toContain('examples/flask/k8s.yaml');
  });

  for (const file of plain) {
    it(`${file}: every object is valid`, () => {
      expectValid(readFileSync(join(REPO, file), 'utf8'));
    });
  }
});

describe('docs/deploy.md', () => {
  const doc = readFileSync(join(REPO, 'docs/deploy.md'), 'utf8');
  const certificate = parseManifests(/```yaml\n(apiVersion: cert-manager\.io\/v1\n[\s\S]*?)```/.exec(doc)?.[1] ?? '');

  it('shows a cert-manager Certificate that writes the Secret the chart example and the component mount', () => {
    const [object] = certificate;
    expect(object).toMatchObject({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate' });
    const spec = object?.spec as { secretName: string; usages: string[]; dnsNames: string[] };
    expect(spec.usages).toContain('server auth');
    expect(spec.dnsNames.length).toBeGreaterThan(0);
    expect(doc).toContain(`--set tls.existingSecret=${spec.secretName}`);
    const component = readFileSync(join(REPO, 'deploy/kustomize/components/tls/tls.yaml'), 'utf8');
    expect(component).toContain('secretName: auth-sidecar-tls');
  });
});

describe('examples', () => {
  it('examples/flask/k8s.yaml: valid; NodePort 30080 to the sidecar; the app container exposes nothing', () => {
    const manifests = readFileSync(join(REPO, 'examples/flask/k8s.yaml'), 'utf8');
    expectValid(manifests);
    const objects = parseManifests(manifests);
    const pod = podSpecOf(only(ofKind(objects, 'Deployment'), ''));
    expectSidecarPod(pod);
    expectServiceTargetsSidecar(objects, pod);
    expect(only(ofKind(objects, 'Service'), '').spec as { type: string; ports: unknown[] }).toMatchObject({
      type: 'NodePort',
      ports: [{ nodePort: 30080, targetPort: 'sidecar-http' }],
    });
    expect(container(pod, 'app').ports).toBeUndefined();
  });

  it('examples/microservices: valid; both services carry the sidecar with one ConfigMap and one Secret', () => {
    const manifests = kustomize('examples/microservices');
    expectValid(manifests);
    const objects = parseManifests(manifests);
    const withSidecar = ofKind(objects, 'Deployment').filter((d) => d.metadata.name.endsWith('legacy-app'));
    expect(withSidecar.map((d) => d.metadata.name).sort()).toEqual(['billing-legacy-app', 'orders-legacy-app']);
    const volumes = withSidecar.map((d) => JSON.stringify(podSpecOf(d).volumes));
    expect(new Set(volumes).size).toBe(1);
    for (const d of withSidecar) expectSidecarPod(podSpecOf(d));
  });
});
