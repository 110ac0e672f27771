// htpasswd files as Apache's tool writes them: each accepted hash kind verifies, refused kinds
// are reported with their line number and never with the hash.
import { appendFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { htpasswd } from '../../../test/support/htpasswd.ts';
import { tempDir } from '../../../test/support/sidecar.ts';
import { type BasicConfig, configSchema } from '../../config/schema.ts';
import { ConfigError } from '../../errors.ts';
import { passwordMatches } from './password-hash.ts';
import { loadUserDirectory } from './user-directory.ts';

function basicConfig(htpasswdFile: string, groupsFile?: string): BasicConfig {
  const config = configSchema.parse({
    upstream: { url: 'http://127.0.0.1:5000' },
    basic: { htpasswdFile, ...(groupsFile ? { groupsFile } : {}) },
  });
  return config.basic as BasicConfig;
}

function configErrorOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.lines;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('hash kinds htpasswd writes', () => {
  const dir = tempDir();
  const file = join(dir, 'htpasswd');
  const password = 'pässwörd: with colon €';
  htpasswd(file, [
    { user: 'bcrypt', password, kind: 'B', cost: 5 },
    { user: 'md5', password, kind: 'm' },
    { user: 'sha', password, kind: 's' },
  ]);
  const directory = loadUserDirectory(basicConfig(file));

  it.each([
    ['bcrypt', 'bcrypt', /^\$2y\$05\$/],
    ['md5', 'apr1', /^\$apr1\$/],
    ['sha', 'sha1', /^\{SHA\}/],
  ])('%s (-%s) verifies the right password and refuses a wrong one', async (user, scheme, prefix) => {
    const entry = directory.lookup(user);
    expect(entry?.hash.scheme).toBe(scheme);
    expect(entry?.hash.value).toMatch(prefix);
    const hash = entry?.hash as NonNullable<typeof entry>['hash'];
    expect(await passwordMatches(Buffer.from(password), hash)).toBe(true);
    expect(await passwordMatches(Buffer.from(`${password}x`), hash)).toBe(false);
    expect(await passwordMatches(Buffer.from(''), hash)).toBe(false);
  });

  it('accepts $2a$ and $2b$ bcrypt prefixes as well as $2y$', async () => {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('bcrypt:')) as string;
    const other = join(dir, 'prefixes');
    writeFileSync(other, `a:${line.slice(7).replace('$2y$', '$2a$')}\nb:${line.slice(7).replace('$2y$', '$2b$')}\n`);
    const loaded = loadUserDirectory(basicConfig(other));
    for (const user of ['a', 'b']) {
      const entry = loaded.lookup(user);
      expect(entry && (await passwordMatches(Buffer.from(password), entry.hash))).toBe(true);
    }
  });

  it('hashes a non-UTF-8 password as its raw bytes, as Apache does', async () => {
    const latin1 = join(dir, 'latin1');
    const bytes = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in latin1
    htpasswd(latin1, [
      { user: 'b', password: bytes, kind: 'B' },
      { user: 'm', password: bytes, kind: 'm' },
      { user: 's', password: bytes, kind: 's' },
    ]);
    const loaded = loadUserDirectory(basicConfig(latin1));
    for (const user of ['b', 'm', 's']) {
      const hash = loaded.lookup(user)?.hash as NonNullable<ReturnType<typeof loaded.lookup>>['hash'];
      expect(await passwordMatches(bytes, hash)).toBe(true);
      expect(await passwordMatches(Buffer.from('café'), hash)).toBe(false);
    }
  });

  it('matches user names exactly (case-sensitive, as Apache does)', () => {
    expect(directory.lookup('bcrypt')).toBeDefined();
    expect(directory.lookup('BCRYPT')).toBeUndefined();
    expect(directory.size).toBe(3);
  });
});

describe('file layout', () => {
  it('ignores comments, blank lines, CRLF endings and text after a second colon', async () => {
    const dir = tempDir();
    const made = join(dir, 'made');
    htpasswd(made, [{ user: 'alice', password: 'a' }]);
    const line = readFileSync(made, 'utf8').trim();
    const file = join(dir, 'htpasswd');
    writeFileSync(file, `# team accounts\r\n\r\n   \n${line}:Alice Example\r\n  # indented comment\n`);
    const directory = loadUserDirectory(basicConfig(file));
    expect(directory.size).toBe(1);
    const entry = directory.lookup('alice');
    expect(entry && (await passwordMatches(Buffer.from('a'), entry.hash))).toBe(true);
  });

  it('loads an empty file (nobody can log in)', () => {
    const file = join(tempDir(), 'htpasswd');
    writeFileSync(file, '# nobody yet\n');
    expect(loadUserDirectory(basicConfig(file)).size).toBe(0);
  });
});

/** A bcrypt hash made by Apache's tool, and where to write a file of hand-made lines with it. */
function oneHash(): { hash: string; file: string } {
  const dir = tempDir();
  const made = join(dir, 'made');
  htpasswd(made, [{ user: 'alice', password: 'a' }]);
  return { hash: readFileSync(made, 'utf8').trim().slice('alice:'.length), file: join(dir, 'htpasswd') };
}

describe('refused lines name the key and line number, never the hash', () => {
  it('refuses crypt(3) DES (-d) and plain text (-p)', () => {
    const file = join(tempDir(), 'htpasswd');
    htpasswd(file, [
      { user: 'good', password: 'x', kind: 'B' },
      { user: 'des', password: 'secret1', kind: 'd' },
      { user: 'plain', password: 'secret2', kind: 'p' },
    ]);
    const text = readFileSync(file, 'utf8');
    const lines = configErrorOf(() => loadUserDirectory(basicConfig(file)));
    expect(lines).toEqual([
      expect.stringMatching(/^config: basic\.htpasswdFile: line 2: user "des": crypt\(3\) DES hashes are refused/),
      expect.stringMatching(
        /^config: basic\.htpasswdFile: line 3: user "plain": not a bcrypt, \$apr1\$ or \{SHA\} hash/,
      ),
    ]);
    const desHash = text.split('\n')[1]?.split(':')[1] as string;
    for (const line of lines) {
      expect(line).not.toContain(desHash);
      expect(line).not.toContain('secret2');
    }
  });

  it('refuses SHA-crypt ($5$, $6$) and MD5-crypt ($1$) lines it cannot verify', () => {
    const file = join(tempDir(), 'htpasswd');
    writeFileSync(file, 'a:$5$salt$abc\nb:$6$salt$def\nc:$1$salt$ghi\n');
    const lines = configErrorOf(() => loadUserDirectory(basicConfig(file)));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^config: basic\.htpasswdFile: line 1: user "a": this hash kind is not supported/);
    expect(lines.join('\n')).not.toMatch(/salt/);
  });

  it('refuses a missing colon, an empty user name, a duplicate user and invalid UTF-8', () => {
    const { hash, file } = oneHash();
    writeFileSync(file, `alice:${hash}\nno-colon-here\n:${hash}\nalice:${hash}\n`);
    appendFileSync(file, Buffer.concat([Buffer.from('b'), Buffer.from([0xff]), Buffer.from(`:${hash}\n`)]));
    expect(configErrorOf(() => loadUserDirectory(basicConfig(file)))).toEqual([
      'config: basic.htpasswdFile: line 5: is not valid UTF-8',
      'config: basic.htpasswdFile: line 2: expected "user:hash"',
      'config: basic.htpasswdFile: line 3: the user name is empty',
      'config: basic.htpasswdFile: line 4: user "alice" is already defined on line 1',
    ]);
  });

  it('refuses a user name the app would not receive exactly as X-Forwarded-User', () => {
    const { hash, file } = oneHash();
    writeFileSync(file, `alice :${hash}\nal\u0000ice:${hash}\n${'a'.repeat(257)}:${hash}\nalice:${hash}\n`);
    expect(configErrorOf(() => loadUserDirectory(basicConfig(file)))).toEqual([
      'config: basic.htpasswdFile: line 1: the user name has leading or trailing whitespace',
      'config: basic.htpasswdFile: line 2: the user name has a control character',
      'config: basic.htpasswdFile: line 3: the user name has more than 256 bytes',
    ]);
  });

  it('reports a missing or unreadable file by its path', () => {
    const dir = tempDir();
    const missing = join(dir, 'nope');
    expect(configErrorOf(() => loadUserDirectory(basicConfig(missing)))).toEqual([
      `config: basic.htpasswdFile: cannot read "${missing}": no such file`,
    ]);
    expect(configErrorOf(() => loadUserDirectory(basicConfig(dir)))).toEqual([
      `config: basic.htpasswdFile: cannot read "${dir}": is a directory`,
    ]);
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked');
      writeFileSync(locked, '');
      chmodSync(locked, 0);
      expect(configErrorOf(() => loadUserDirectory(basicConfig(locked)))[0]).toMatch(/permission denied/);
    }
  });
});

describe('groups file (Apache AuthGroupFile format)', () => {
  const dir = tempDir();
  const users = join(dir, 'htpasswd');
  htpasswd(users, [
    { user: 'alice', password: 'a' },
    { user: 'bob', password: 'b' },
    { user: 'carol', password: 'c' },
  ]);

  it("gives each user the groups that list it, in the file's order; a group may span lines", () => {
    const groups = join(dir, 'groups');
    writeFileSync(groups, '# roles\nadmins: alice\nstaff: alice  bob\n\nadmins: carol alice\t\nempty:\n');
    const directory = loadUserDirectory(basicConfig(users, groups));
    expect(directory.lookup('alice')?.groups).toEqual(['admins', 'staff']);
    expect(directory.lookup('bob')?.groups).toEqual(['staff']);
    expect(directory.lookup('carol')?.groups).toEqual(['admins']);
  });

  it('leaves users without groups when there is no groups file', () => {
    expect(loadUserDirectory(basicConfig(users)).lookup('alice')?.groups).toEqual([]);
  });

  it('refuses lines without a colon and group names that cannot go in a header', () => {
    const groups = join(dir, 'bad-groups');
    writeFileSync(groups, `admins alice\na,b: bob\n: carol\nad\u0000mins: alice\n${'g'.repeat(257)}: bob\nok: alice\n`);
    expect(configErrorOf(() => loadUserDirectory(basicConfig(users, groups)))).toEqual([
      'config: basic.groupsFile: line 1: expected "group: user1 user2"',
      'config: basic.groupsFile: line 2: the group name must be non-empty, without spaces, commas or colons',
      'config: basic.groupsFile: line 3: the group name must be non-empty, without spaces, commas or colons',
      'config: basic.groupsFile: line 4: the group name has a control character',
      'config: basic.groupsFile: line 5: the group name has more than 256 bytes',
    ]);
  });

  it('fingerprints both files: a changed groups file is a changed directory', () => {
    const groups = join(dir, 'fp-groups');
    writeFileSync(groups, 'admins: alice\n');
    const first = loadUserDirectory(basicConfig(users, groups)).fingerprint;
    expect(loadUserDirectory(basicConfig(users, groups)).fingerprint).toBe(first);
    writeFileSync(groups, 'admins: bob\n');
    expect(loadUserDirectory(basicConfig(users, groups)).fingerprint).not.toBe(first);
  });
});
