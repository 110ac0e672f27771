// npm run demo: the example Flask app on 127.0.0.1:5000 with auth-sidecar in front of it on
// 127.0.0.1:4180 (admin on 4181), in-memory sessions, a local demo signing key and a printed
// demo token. Ctrl-C stops both. Ports: DEMO_PORT, DEMO_ADMIN_PORT, DEMO_APP_PORT; files go to
// DEMO_DIR (default .demo/).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { stringify } from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const dir = process.env.DEMO_DIR ?? join(root, '.demo');
const port = Number(process.env.DEMO_PORT ?? 4180);
const adminPort = Number(process.env.DEMO_ADMIN_PORT ?? 4181);
const appPort = Number(process.env.DEMO_APP_PORT ?? 5000);
const issuer = 'https://demo-idp.auth-sidecar.local';
const audience = 'demo-app';

function requireFlask(): void {
  const probe = spawnSync('python3', ['-c', 'import flask'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    console.error('demo: the example app needs python3 with Flask: pip install -r examples/flask/requirements.txt');
    process.exit(1);
  }
}

/** A signing key for the demo only; its public half is the sidecar's keysFile. */
async function demoKeyAndToken(): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'demo-key', alg: 'ES256', use: 'sig' };
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }, null, 2));
  const token = await new SignJWT({
    email: 'alice@example.com',
    groups: ['admins', 'staff'],
    preferred_username: 'alice',
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'demo-key' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(privateKey);
  writeFileSync(join(dir, 'token'), `${token}\n`);
  return token;
}

function writeConfig(): string {
  const file = join(dir, 'config.yaml');
  const config = {
    listen: `127.0.0.1:${port}`,
    admin: { listen: `127.0.0.1:${adminPort}` },
    upstream: { url: `http://127.0.0.1:${appPort}`, timeoutSeconds: 30 },
    jwt: { issuer, audience, keysFile: 'jwks.json', algorithms: ['ES256'] },
    session: { store: 'memory' },
    routes: [
      { path: '/public/**', auth: 'none' },
      { path: '/admin/**', allow: { groups: ['admins'] } },
    ],
  };
  writeFileSync(file, `# Written by npm run demo\n${stringify(config)}`);
  return file;
}

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => `[${name}] ${line}\n`)
      .join('');
  child.stdout?.on('data', (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  return child;
}

async function waitUntilReady(url: string, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function printHowTo(token: string): void {
  const base = `http://127.0.0.1:${port}`;
  console.log(`
auth-sidecar demo is running: the Flask app on 127.0.0.1:${appPort}, the sidecar in front on ${base}.

  TOKEN=$(cat ${join(dir, 'token')})     # alice, groups admins,staff, valid 12 hours

  curl -i ${base}/hello                                        # 401: no credentials
  curl -H "Authorization: Bearer $TOKEN" ${base}/hello         # 200: the app sees X-Forwarded-User: alice
  curl -H "Authorization: Bearer $TOKEN" -H "X-Forwarded-User: mallory" ${base}/hello   # still alice
  curl -i -H "Authorization: Bearer not.a.jwt" ${base}/hello   # 401 with error="invalid_token"
  curl ${base}/public/info                                     # 200: a public route, no identity
  curl -H "Authorization: Bearer $TOKEN" ${base}/admin/panel   # 200: alice is in group admins
  curl -H "Authorization: Bearer $TOKEN" ${base}/oauth2/userinfo
  curl http://127.0.0.1:${adminPort}/readyz
  curl -s http://127.0.0.1:${adminPort}/metrics | grep auth_sidecar_requests_total

The config is ${join(dir, 'config.yaml')} (edit it: the sidecar reloads it by itself).
Demo token: ${token.slice(0, 24)}... (full token in ${join(dir, 'token')})
Ctrl-C stops both.
`);
}

async function main(): Promise<void> {
  requireFlask();
  mkdirSync(dir, { recursive: true });
  const token = await demoKeyAndToken();
  const configFile = writeConfig();
  const app = start('flask', 'python3', [join('examples', 'flask', 'app.py')], { FLASK_PORT: String(appPort) });
  const sidecar = start('auth-sidecar', process.execPath, [join('src', 'cli.ts'), 'serve', '--config', configFile]);
  // Ctrl-C reaches the children too (one process group): their exits are then expected, and
  // neither a second stop nor an "exited; stopping" message may follow.
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    sidecar.kill('SIGTERM');
    app.kill('SIGTERM');
    setTimeout(() => process.exit(code), 500).unref();
  };
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));
  for (const [name, child] of [
    ['flask', app],
    ['auth-sidecar', sidecar],
  ] as const) {
    child.once('exit', (code) => {
      if (stopping) return;
      console.error(`demo: ${name} exited (${code}); stopping`);
      stop(1);
    });
  }
  const ready = await waitUntilReady(`http://127.0.0.1:${adminPort}/readyz`);
  if (!ready) {
    console.error(
      `demo: not ready; is port ${port}, ${adminPort} or ${appPort} taken? (DEMO_PORT, DEMO_ADMIN_PORT, DEMO_APP_PORT)`,
    );
    return stop(1);
  }
  printHowTo(token);
}

await main();
