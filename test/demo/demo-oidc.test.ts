// `npm run demo:oidc` works as docs/oidc.md says, on the very ports it prints: a browser login
// through the local provider to the Flask example, with the session in Redis. The defaults are
// run as they are (a free port of the test's choosing once hid a default that fetch refuses):
// if one is taken, the test fails and says which, rather than quietly using another.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { formAction, TestBrowser } from '../support/browser.ts';
import { PASSWORD } from '../support/oidc-provider.ts';
import { rawClient } from '../support/redis-servers.ts';
import { tempDir } from '../support/sidecar.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const DOC = readFileSync(new URL('../../docs/oidc.md', import.meta.url), 'utf8');

/** The ports docs/oidc.md promises, read from its text so that the two cannot drift apart. */
function documentedPorts(): { idp: number; app: number; sidecar: number; admin: number } {
  const match =
    /on 127\.0\.0\.1:(\d+), the Flask example on 127\.0\.0\.1:(\d+) and the\s+sidecar on http:\/\/localhost:(\d+) \(admin on 127\.0\.0\.1:(\d+)\)/.exec(
      DOC,
    );
  if (!match) throw new Error('docs/oidc.md no longer says which ports the demo uses');
  const [idp, app, sidecar, admin] = match.slice(1).map(Number) as [number, number, number, number];
  return { idp, app, sidecar, admin };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

let demo: ChildProcess | undefined;
afterAll(() => {
  demo?.kill('SIGINT');
});

describe('npm run demo:oidc', () => {
  it('logs a browser in through the local provider to the Flask app, on the documented ports', async () => {
    const ports = documentedPorts();
    for (const [name, port] of Object.entries(ports)) {
      expect(
        await portIsFree(port),
        `port ${port} (${name}) is taken: stop what listens there; the demo runs its defaults`,
      ).toBe(true);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, DEMO_DIR: tempDir('auth-sidecar-demo-oidc-') };
    for (const name of ['DEMO_PORT', 'DEMO_ADMIN_PORT', 'DEMO_APP_PORT', 'DEMO_IDP_PORT', 'DEMO_REDIS_URL'])
      delete env[name];
    const redis = rawClient();
    const before = new Set(await redis.keys('auth-sidecar-demo:*'));
    demo = spawn(process.execPath, ['scripts/demo-oidc.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let logs = '';
    demo.stdout?.on('data', (chunk: Buffer) => {
      logs += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      demo?.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ctrl-C stops everything')) resolve();
      });
      demo?.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${output}`)));
    });
    const publicUrl = `http://localhost:${ports.sidecar}`;
    expect(output).toContain(`open        ${publicUrl}/`);
    expect(output).toContain(`provider    http://127.0.0.1:${ports.idp}`);

    // The sidecar reached the provider: the readiness body says so, and no line says otherwise.
    const readyz = await fetch(`http://127.0.0.1:${ports.admin}/readyz`);
    const { checks } = (await readyz.json()) as { checks: Record<string, { ok: boolean; error?: string }> };
    expect(checks.oidc).toEqual({ ok: true });

    const browser = new TestBrowser({ [`localhost:${ports.sidecar}`]: `http://127.0.0.1:${ports.sidecar}` });
    const hops = await browser.navigate(`${publicUrl}/admin/reports`);
    const form = hops[hops.length - 1];
    expect(form?.url, logs).toMatch(new RegExp(`^http://127.0.0.1:${ports.idp}/interaction/`));
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
    expect(logs).not.toContain('discovery failed');
    try {
      const created = (await redis.keys('auth-sidecar-demo:*')).filter((k) => !before.has(k));
      expect(created.filter((k) => k.startsWith('auth-sidecar-demo:session:'))).toHaveLength(1);
      await redis.del(...created);
    } finally {
      redis.disconnect();
    }
  });
});
