// `npm run demo` works as the README says: the Flask example behind the sidecar, the printed
// token accepted, a request without it refused.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { tempDir } from '../support/sidecar.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const hasFlask = spawnSync('python3', ['-c', 'import flask'], { stdio: 'ignore' }).status === 0;

let demo: ChildProcess | undefined;
afterAll(() => {
  demo?.kill('SIGINT');
});

describe('npm run demo', () => {
  it('needs python3 with Flask, as the README says', () => {
    expect(hasFlask, 'python3 -c "import flask" failed: pip install -r examples/flask/requirements.txt').toBe(true);
  });

  it('runs the Flask example behind the sidecar and prints a working token', async () => {
    const [port, adminPort, appPort] = [await freePort(), await freePort(), await freePort()];
    const dir = tempDir('auth-sidecar-demo-');
    demo = spawn(process.execPath, [join(ROOT, 'scripts/demo.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DEMO_PORT: String(port),
        DEMO_ADMIN_PORT: String(adminPort),
        DEMO_APP_PORT: String(appPort),
        DEMO_DIR: dir,
      },
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 20_000);
      demo?.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('auth-sidecar demo is running')) {
          clearTimeout(timer);
          resolve();
        }
      });
      demo?.once('exit', (code) => reject(new Error(`demo exited ${code}:\n${output}`)));
    });
    expect(output).toContain(`curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${port}/hello`);
    const token = readFileSync(join(dir, 'token'), 'utf8').trim();
    const base = `http://127.0.0.1:${port}`;

    expect((await fetch(`${base}/hello`)).status).toBe(401);
    const hello = await fetch(`${base}/hello`, {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-user': 'mallory' },
    });
    expect(hello.status).toBe(200);
    const body = (await hello.json()) as { app: string; user: string; groups: string[] };
    expect(body).toMatchObject({ app: 'legacy-flask', user: 'alice', groups: ['admins', 'staff'] });
    expect((await fetch(`${base}/public/info`)).status).toBe(200);
    expect((await fetch(`${base}/admin/panel`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    const exited = new Promise<number | null>((resolve) => demo?.once('exit', resolve));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    demo = undefined;
  });
});
