// Hot reload of the htpasswd and groups files through a running sidecar: users added and
// removed without a restart (the credential cache empties), a broken or missing file refused
// while the last good set keeps serving, and a Kubernetes Secret update (symlink swap).
import { appendFileSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { type Echo, type EchoUpstream, startEchoUpstream } from '../support/echo-upstream.ts';
import { basicAuth, htpasswd, removeUser } from '../support/htpasswd.ts';
import {
  RELOADS_APPLIED as APPLIED,
  metric,
  RELOADS_REJECTED as REJECTED,
  startTestSidecar,
  type TestSidecar,
  tempDir,
} from '../support/sidecar.ts';
import { eventually } from '../support/wait.ts';

let upstream: EchoUpstream;

beforeAll(async () => {
  upstream = await startEchoUpstream();
});

afterAll(async () => {
  await upstream?.close();
});

async function status(sidecar: TestSidecar, user: string, password: string): Promise<number> {
  const res = await fetch(`${sidecar.url}/api`, { headers: { authorization: basicAuth(user, password) } });
  await res.arrayBuffer();
  return res.status;
}

/** Resolves once `check` holds; the contract allows 5 s for a reload. */
const reloaded = (check: () => Promise<boolean>) => eventually(check, 'the reload', { timeoutMs: 5000 });

const BCRYPT_CHECKS = 'auth_sidecar_basic_hash_checks_total{scheme="bcrypt"}';

describe('htpasswd and groups files change under a running sidecar', () => {
  let sidecar: TestSidecar;
  let file: string;
  let groups: string;

  beforeAll(async () => {
    const dir = tempDir();
    file = join(dir, 'htpasswd');
    groups = join(dir, 'groups');
    htpasswd(file, [
      { user: 'alice', password: 'alice-pw' },
      { user: 'bob', password: 'bob-pw' },
    ]);
    writeFileSync(groups, 'staff: alice\n');
    sidecar = await startTestSidecar(
      { upstream: { url: upstream.url }, basic: { htpasswdFile: 'htpasswd', groupsFile: 'groups' } },
      { dir, watchIntervalMs: 100 },
    );
  });

  afterAll(async () => {
    await sidecar?.stop();
  });

  it('a user added to the file can log in, without a restart', async () => {
    expect(await status(sidecar, 'carol', 'carol-pw')).toBe(401);
    htpasswd(file, [{ user: 'carol', password: 'carol-pw' }]);
    await reloaded(async () => (await status(sidecar, 'carol', 'carol-pw')) === 200);
  });

  it('a user removed from the file is refused at once, even with credentials the cache held', async () => {
    expect(await status(sidecar, 'bob', 'bob-pw')).toBe(200);
    expect(await status(sidecar, 'bob', 'bob-pw')).toBe(200); // now cached
    removeUser(file, 'bob');
    await reloaded(async () => (await status(sidecar, 'bob', 'bob-pw')) === 401);
    expect(await status(sidecar, 'alice', 'alice-pw')).toBe(200);
  });

  it('a changed password: the old one stops working, the new one works', async () => {
    expect(await status(sidecar, 'alice', 'alice-pw')).toBe(200);
    htpasswd(file, [{ user: 'alice', password: 'new-alice-pw' }]);
    await reloaded(async () => (await status(sidecar, 'alice', 'new-alice-pw')) === 200);
    expect(await status(sidecar, 'alice', 'alice-pw')).toBe(401);
  });

  it('a changed groups file changes the groups the app receives', async () => {
    const groupsOf = async () => {
      const res = await fetch(`${sidecar.url}/api`, { headers: { authorization: basicAuth('carol', 'carol-pw') } });
      return ((await res.json()) as Echo).headers['x-forwarded-groups'];
    };
    expect(await groupsOf()).toBeUndefined();
    writeFileSync(groups, 'staff: alice carol\nops: carol\n');
    await reloaded(async () => JSON.stringify(await groupsOf()) === '["staff,ops"]');
  });

  it('a broken file is refused, logged with its line and counted; the last good set keeps serving', async () => {
    const rejected = await metric(sidecar, REJECTED);
    appendFileSync(file, 'mallory:plaintext-secret\n');
    await reloaded(async () => (await metric(sidecar, REJECTED)) > rejected);
    const line = sidecar.logs.findLast((l) => l.msg === 'config reload rejected; the running config stays');
    expect(line?.problems).toEqual([
      'config: basic.htpasswdFile: line 3: user "mallory": not a bcrypt, $apr1$ or {SHA} hash (plain-text passwords are refused); re-hash the password with `htpasswd -B` or `auth-sidecar hash-password`',
    ]);
    expect(JSON.stringify(sidecar.logs)).not.toContain('plaintext-secret');
    expect(await status(sidecar, 'carol', 'carol-pw')).toBe(200);
    expect(await status(sidecar, 'mallory', 'plaintext-secret')).toBe(401);
  });

  it('a file that disappears is refused too; once fixed, the new set applies', async () => {
    const rejected = await metric(sidecar, REJECTED);
    rmSync(file);
    await reloaded(async () => (await metric(sidecar, REJECTED)) > rejected);
    expect(await status(sidecar, 'carol', 'carol-pw')).toBe(200);
    htpasswd(file, [{ user: 'dave', password: 'dave-pw' }]);
    await reloaded(async () => (await status(sidecar, 'dave', 'dave-pw')) === 200);
    expect(await status(sidecar, 'carol', 'carol-pw')).toBe(401);
  });

  it('a reload that leaves both files unchanged keeps the credential cache warm', async () => {
    expect(await status(sidecar, 'dave', 'dave-pw')).toBe(200);
    const checks = await metric(sidecar, BCRYPT_CHECKS);
    const applied = await metric(sidecar, APPLIED);
    expect(await sidecar.reload()).toBe(true);
    expect(await metric(sidecar, APPLIED)).toBe(applied + 1);
    expect(await status(sidecar, 'dave', 'dave-pw')).toBe(200);
    expect(await metric(sidecar, BCRYPT_CHECKS)).toBe(checks);
  });
});

describe('a Kubernetes Secret update (the ..data symlink swapped)', () => {
  it('is picked up without a restart', async () => {
    // The layout the kubelet writes: a timestamped folder, ..data pointing at it, and the
    // file itself a link through ..data. An update writes a new folder and renames a new link
    // over ..data, atomically.
    const dir = tempDir();
    const secret = join(dir, 'secret');
    const version = (name: string, user: string) => {
      mkdirSync(join(secret, name), { recursive: true });
      htpasswd(join(secret, name, 'htpasswd'), [{ user, password: `${user}-pw` }]);
    };
    version('..2024_01_01', 'alice');
    symlinkSync('..2024_01_01', join(secret, '..data'));
    symlinkSync('..data/htpasswd', join(secret, 'htpasswd'));
    const sidecar = await startTestSidecar(
      { upstream: { url: upstream.url }, basic: { htpasswdFile: 'secret/htpasswd' } },
      { dir, watchIntervalMs: 100 },
    );
    try {
      expect(await status(sidecar, 'alice', 'alice-pw')).toBe(200);
      version('..2024_01_02', 'bob');
      symlinkSync('..2024_01_02', join(secret, '..data_tmp'));
      renameSync(join(secret, '..data_tmp'), join(secret, '..data'));
      rmSync(join(secret, '..2024_01_01'), { recursive: true });
      await reloaded(async () => (await status(sidecar, 'bob', 'bob-pw')) === 200);
      expect(await status(sidecar, 'alice', 'alice-pw')).toBe(401);
    } finally {
      await sidecar.stop();
    }
  });
});

describe('at start-up', () => {
  it('an unusable htpasswd file stops the sidecar from starting, naming the key and line', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'htpasswd'), '# users\nalice:MNYkOsxKoMhjA\n');
    await expect(
      startTestSidecar({ upstream: { url: upstream.url }, basic: { htpasswdFile: 'htpasswd' } }, { dir }),
    ).rejects.toMatchObject({
      lines: [
        expect.stringMatching(/^config: basic\.htpasswdFile: line 2: user "alice": crypt\(3\) DES hashes are refused/),
      ],
    });
  });

  it('check-config exits 78 with the same line, without the hash', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'htpasswd'), '# users\nalice:MNYkOsxKoMhjA\nbob:plain-secret\n');
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `upstream: { url: "${upstream.url}" }\nbasic: { htpasswdFile: htpasswd }\n`);
    const result = await runCli(['check-config', '--config', config]);
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^config: basic\.htpasswdFile: line 2: user "alice": crypt\(3\) DES hashes are refused/);
    expect(lines[1]).toMatch(/^config: basic\.htpasswdFile: line 3: user "bob": not a bcrypt/);
    expect(result.stderr).not.toContain('MNYkOsxKoMhjA');
    expect(result.stderr).not.toContain('plain-secret');
  });
});
