// The load-time warning about htpasswd entries hashed from the empty password, against files
// written by Apache's own tool: one warning per such entry, never the hash, and a bounded amount
// of hash work per load.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type HtpasswdUser, htpasswd } from '../../../test/support/htpasswd.ts';
import { tempDir } from '../../../test/support/sidecar.ts';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../observability/logger.ts';
import { EmptyPasswordAudit } from './empty-password-audit.ts';
import type { StoredHash } from './password-hash.ts';
import { loadUserDirectory, type UserDirectory } from './user-directory.ts';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim()) lines.push(JSON.parse(text));
      callback();
    },
  });
  return { logger: createLogger({ destination }), lines };
}

function fileOf(users: readonly HtpasswdUser[]): string {
  const file = join(tempDir(), 'htpasswd');
  htpasswd(file, users);
  return file;
}

/** An audit of the file's entries, logging into `lines`. */
function auditOf(directory: UserDirectory, maxHashedChecks?: number) {
  const { logger, lines } = capturingLogger();
  return { audit: new EmptyPasswordAudit(directory.entries(), logger, maxHashedChecks), lines };
}

function directoryOf(file: string): UserDirectory {
  const config = configSchema.parse({ upstream: { url: 'http://127.0.0.1:5000' }, basic: { htpasswdFile: file } });
  return loadUserDirectory(config.basic as NonNullable<typeof config.basic>);
}

function hashOf(directory: UserDirectory, user: string): StoredHash {
  const entry = directory.lookup(user);
  if (!entry) throw new Error(`no ${user} in the file`);
  return entry.hash;
}

const warned = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => l.level === 'warn').map((l) => `${l.user} ${l.scheme}`);

describe('entries hashed from the empty password', () => {
  it('are each warned about once, by user and scheme, without the hash', async () => {
    const file = fileOf([
      { user: 'alice', password: 'alice-pw', kind: 'B' },
      { user: 'unset-b', password: '', kind: 'B' },
      { user: 'unset-m', password: '', kind: 'm' },
      { user: 'unset-s', password: '', kind: 's' },
      { user: 'bob', password: 'bob-pw', kind: 'm' },
    ]);
    const { audit, lines } = auditOf(directoryOf(file));
    await audit.run();
    expect(warned(lines)).toEqual(['unset-b bcrypt', 'unset-m apr1', 'unset-s sha1']);
    const text = JSON.stringify(lines);
    for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
      expect(text).not.toContain(line.slice(line.indexOf(':') + 1));
    }
    await audit.tried('unset-b', hashOf(directoryOf(file), 'unset-b'));
    expect(warned(lines)).toHaveLength(3);
  });

  it('check at most the cap of hashed entries at load, and the rest when the empty password is tried', async () => {
    const directory = directoryOf(
      fileOf([
        { user: 'e1', password: '', kind: 'B' },
        { user: 'e2', password: '', kind: 'm' },
        { user: 'e3', password: '', kind: 'B' },
        { user: 'e4', password: '', kind: 's' },
        { user: 'e5', password: '', kind: 'B' },
      ]),
    );
    const { audit, lines } = auditOf(directory, 2);
    await audit.run();
    // {SHA} costs no hash work and is always checked.
    expect(warned(lines)).toEqual(['e1 bcrypt', 'e2 apr1', 'e4 sha1']);
    expect(lines.find((l) => l.level === 'info')).toMatchObject({ entries: 2, checked: 2 });
    await audit.tried('e5', hashOf(directory, 'e5'));
    expect(warned(lines)).toEqual(['e1 bcrypt', 'e2 apr1', 'e4 sha1', 'e5 bcrypt']);
  });

  it('stop when stopped (the directory was replaced)', async () => {
    const { audit, lines } = auditOf(directoryOf(fileOf([{ user: 'e1', password: '', kind: 'B' }])));
    const done = audit.run();
    audit.stop();
    await done;
    expect(warned(lines)).toEqual([]);
  });
});
