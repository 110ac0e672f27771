// `npm run demo:oidc` works as docs/oidc.md says: a browser login through the local provider to
// the Flask example, with the session in Redis.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { formAction, TestBrowser } from '../support/browser.ts';
import { freePort } from '../support/free-port.ts';
import { PASSWORD } from '../support/oidc-provider.ts';
import { rawClient } from '../support/redis-servers.ts';
import { tempDir } from '../support/sidecar.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
let demo: ChildProcess | undefined;
afterAll(() => {
  demo?.kill('SIGINT');
});

describe('npm run demo:oidc', () => {
  it('logs a browser in through the local provider to the Flask app, with the session in Redis', async () => {
    const [port, adminPort, appPort, idpPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const redis = rawClient();
    const before = new Set(await redis.keys('auth-sidecar-demo:*'));
    demo = spawn(process.execPath, ['scripts/demo-oidc.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DEMO_PORT: String(port),
        DEMO_ADMIN_PORT: String(adminPort),
        DEMO_APP_PORT: String(appPort),
        DEMO_IDP_PORT: String(idpPort),
        DEMO_REDIS_URL: 'redis://127.0.0.1:6379/0',
        DEMO_DIR: tempDir('auth-sidecar-demo-oidc-'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      demo?.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ctrl-C stops everything')) resolve();
      });
      demo?.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${output}`)));
    });
    const publicUrl = `http://localhost:${port}`;
    expect(output).toContain(`open        ${publicUrl}/`);
    const browser = new TestBrowser({ [`localhost:${port}`]: `http://127.0.0.1:${port}` });
    const hops = await browser.navigate(`${publicUrl}/admin/reports`);
    const form = hops[hops.length - 1];
    expect(form?.url).toMatch(new RegExp(`^http://127.0.0.1:${idpPort}/interaction/`));
    const posted = await browser.fetch(formAction(form as never), {
      method: 'POST',
      form: { login: 'alice', password: PASSWORD },
    });
    const back = await browser.navigate(posted.location as string);
    const page = back[back.length - 1];
    expect(page?.url).toBe(`${publicUrl}/admin/reports`);
    expect(JSON.parse(page?.body ?? '{}')).toMatchObject({
      app: 'legacy-flask',
      user: 'alice',
      path: '/admin/reports',
    });
    try {
      const created = (await redis.keys('auth-sidecar-demo:*')).filter((k) => !before.has(k));
      expect(created.filter((k) => k.startsWith('auth-sidecar-demo:session:'))).toHaveLength(1);
      await redis.del(...created);
    } finally {
      redis.disconnect();
    }
  });
});
