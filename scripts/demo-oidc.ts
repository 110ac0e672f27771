// npm run demo:oidc: browser login with OpenID Connect and Redis sessions, all on this machine.
// A local OpenID Provider (panva's oidc-provider, as the tests use; users alice and bob), the
// example Flask app, and auth-sidecar in front of it with sessions in Redis. Open the printed
// URL in a browser. Ctrl-C stops everything. Ports: DEMO_PORT (4180), DEMO_ADMIN_PORT (4181),
// DEMO_APP_PORT (5000), DEMO_IDP_PORT (4191); Redis: DEMO_REDIS_URL (redis://127.0.0.1:6379/0);
// files go to DEMO_DIR (default .demo-oidc/).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { blockedFetchPort } from '../src/config/bad-ports.ts';
import { PASSWORD, startOidcProvider, USERS } from '../test/support/oidc-provider.ts';

const root = new URL('..', import.meta.url).pathname;
const dir = process.env.DEMO_DIR ?? join(root, '.demo-oidc');
const port = Number(process.env.DEMO_PORT ?? 4180);
const adminPort = Number(process.env.DEMO_ADMIN_PORT ?? 4181);
const appPort = Number(process.env.DEMO_APP_PORT ?? 5000);
// Not 4190: fetch refuses that port (a "bad port" of the Fetch standard), and so would the sidecar.
const idpPort = Number(process.env.DEMO_IDP_PORT ?? 4191);
const redisUrl = process.env.DEMO_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
// The browser's origin: "localhost", so its cookies never mix with the provider's (127.0.0.1).
const publicUrl = `http://localhost:${port}`;
const clientId = 'legacy-app';

function fail(message: string): never {
  console.error(`demo:oidc: ${message}`);
  process.exit(1);
}

async function requireRedis(): Promise<void> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch {
    fail(`no Redis answers at ${redisUrl}: start one (redis-server --port 6379) or set DEMO_REDIS_URL`);
  } finally {
    client.disconnect();
  }
}

function writeConfig(): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'client-secret'), `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'cookie-secret'), `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  const file = join(dir, 'config.yaml');
  const config = {
    listen: `127.0.0.1:${port}`,
    admin: { listen: `127.0.0.1:${adminPort}` },
    upstream: { url: `http://127.0.0.1:${appPort}` },
    publicUrl,
    oidc: {
      issuer: `http://127.0.0.1:${idpPort}`,
      clientId,
      clientSecretFile: 'client-secret',
      scopes: ['openid', 'profile', 'email', 'groups'],
    },
    session: {
      store: 'redis',
      redis: { url: redisUrl, keyPrefix: 'auth-sidecar-demo:' },
      cookie: { secretFile: 'cookie-secret' },
    },
    routes: [
      { path: '/public/**', auth: 'none' },
      { path: '/admin/**', allow: { groups: ['admins'] } },
    ],
  };
  writeFileSync(file, stringify(config));
  return file;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) fail(`${command} exited (${signal ?? code})`);
  });
  return child;
}

let stopping = false;

/**
 * /readyz answers 200 once the sidecar listens and both Redis and the app answer; the demo
 * also waits for the provider's discovery (the `oidc` check), and stops with its reason when
 * that fails, since no login could work.
 */
async function waitUntilReady(): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const answer = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
      async (r) => ({ status: r.status, body: (await r.json()) as Readiness }),
      () => undefined,
    );
    const oidc = answer?.body.checks.oidc;
    if (answer?.status === 200 && oidc?.ok) return;
    if (oidc && !oidc.ok) last = `oidc: ${oidc.error}`;
    await new Promise((r) => setTimeout(r, 200));
  }
  fail(`the sidecar did not become ready (http://127.0.0.1:${adminPort}/readyz): ${last}`);
}

interface Readiness {
  checks: Record<string, { ok: boolean; error?: string }>;
}

if (blockedFetchPort(`http://127.0.0.1:${idpPort}`) !== undefined) {
  fail(`DEMO_IDP_PORT ${idpPort} is a port that fetch refuses to connect to; pick another`);
}
if (spawnSync('python3', ['-c', 'import flask'], { stdio: 'ignore' }).status !== 0) {
  fail('the example app needs python3 with Flask: pip install -r examples/flask/requirements.txt');
}
await requireRedis();
const configFile = writeConfig();
const provider = await startOidcProvider({ port: idpPort }).catch((error: Error) =>
  fail(`the OpenID Provider cannot listen on 127.0.0.1:${idpPort} (${error.message}); set DEMO_IDP_PORT`),
);
provider.addClient({
  client_id: clientId,
  client_secret: readFileSync(join(dir, 'client-secret'), 'utf8').trim(),
  redirect_uris: [`${publicUrl}/oauth2/callback`],
  post_logout_redirect_uris: [`${publicUrl}/oauth2/sign_out`],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  backchannel_logout_uri: `http://127.0.0.1:${port}/oauth2/backchannel_logout`,
  backchannel_logout_session_required: true,
});
const app = start('python3', ['examples/flask/app.py'], { FLASK_PORT: String(appPort) });
const sidecar = start(process.execPath, ['src/cli.ts', 'serve', '--config', configFile]);

await waitUntilReady();

const users = Object.entries(USERS)
  .map(([name, user]) => `${name} (groups: ${user.groups.join(', ')})`)
  .join(', ');
console.error(`
demo:oidc ready
  open        ${publicUrl}/            sign in as ${users}
  password    ${PASSWORD}
  admins only ${publicUrl}/admin/
  who am I    ${publicUrl}/oauth2/userinfo
  sign out    ${publicUrl}/oauth2/sign_out
  provider    ${provider.issuer}  (sign out there too: ${provider.issuer}/session/end)
  config      ${configFile}
  sessions    Redis at ${redisUrl}, keys auth-sidecar-demo:* (sealed: no token in them)
Ctrl-C stops everything.
`);

const stop = () => {
  stopping = true;
  sidecar.kill('SIGTERM');
  app.kill('SIGTERM');
  void provider.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
