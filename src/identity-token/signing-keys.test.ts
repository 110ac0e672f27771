import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type PrivateKeyKind, writePrivateKey } from '../../test/support/keys.ts';
import { tempDir } from '../../test/support/sidecar.ts';
import { ConfigError } from '../errors.ts';
import { readSigningKeys } from './signing-keys.ts';

const dir = tempDir('signing-keys-');
const settings = (signingKeyFile: string | string[]) => ({
  signingKeyFile,
  header: 'X-Auth-Sidecar-Identity',
  ttlSeconds: 60,
});

function problems(signingKeyFile: string | string[]): readonly string[] {
  try {
    readSigningKeys(settings(signingKeyFile));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).lines;
  }
  throw new Error('expected a config error');
}

function keyFile(name: string, kind: PrivateKeyKind): string {
  const file = join(dir, name);
  writePrivateKey(file, kind);
  return file;
}

describe('identity token key files', () => {
  it.each([
    ['P-256', 'ES256', ['kty', 'crv', 'x', 'y']],
    ['P-384', 'ES384', ['kty', 'crv', 'x', 'y']],
    ['Ed25519', 'EdDSA', ['kty', 'crv', 'x']],
    ['RSA-2048', 'RS256', ['kty', 'n', 'e']],
  ] as const)('a %s key signs with %s and publishes only its public part', (kind, alg, members) => {
    const [key] = readSigningKeys(settings(keyFile(`${kind}.pem`, kind)));
    expect(key?.alg).toBe(alg);
    expect(Object.keys(key?.publicJwk ?? {}).sort()).toEqual([...members].sort());
  });

  it('keeps the order of a list: the first signs', () => {
    const files = [keyFile('a.pem', 'Ed25519'), keyFile('b.pem', 'P-256')];
    expect(readSigningKeys(settings(files)).map((k) => k.alg)).toEqual(['EdDSA', 'ES256']);
  });

  it('names the key and the file of each unusable one, never its content', () => {
    const publicKey = join(dir, 'public.pem');
    const { publicKey: spki } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(publicKey, spki.export({ type: 'spki', format: 'pem' }));
    const sec1 = join(dir, 'sec1.pem');
    const sec1Pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'sec1',
      format: 'pem',
    });
    writeFileSync(sec1, sec1Pem);
    const encrypted = join(dir, 'encrypted.pem');
    const encryptedPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    });
    writeFileSync(encrypted, encryptedPem);
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    const text = join(dir, 'text.pem');
    writeFileSync(text, 'just text');
    const files = [
      keyFile('good.pem', 'P-256'),
      join(dir, 'missing.pem'),
      publicKey,
      sec1,
      encrypted,
      garbage,
      text,
      keyFile('p521.pem', 'P-521'),
      keyFile('ed448.pem', 'Ed448'),
      keyFile('rsa1024.pem', 'RSA-1024'),
    ];
    const kinds = 'use EC P-256 or P-384, Ed25519, or RSA of 2048 bits or more';
    const lines = problems(files);
    expect(lines).toEqual([
      `config: identityToken.signingKeyFile.1: "${files[1]}" cannot be read: no such file`,
      `config: identityToken.signingKeyFile.2: "${publicKey}" holds no private key (a public key or certificate): give the PKCS#8 private key`,
      `config: identityToken.signingKeyFile.3: "${sec1}" is not PKCS#8 ("BEGIN PRIVATE KEY"): convert it with openssl pkcs8 -topk8 -nocrypt`,
      `config: identityToken.signingKeyFile.4: "${encrypted}" is encrypted: give the key unencrypted (openssl pkcs8 -topk8 -nocrypt)`,
      `config: identityToken.signingKeyFile.5: "${garbage}" is not a readable PKCS#8 private key`,
      `config: identityToken.signingKeyFile.6: "${text}" is not a PKCS#8 PEM private key ("-----BEGIN PRIVATE KEY-----")`,
      `config: identityToken.signingKeyFile.7: "${files[7]}" is an EC key on curve secp521r1: ${kinds}`,
      `config: identityToken.signingKeyFile.8: "${files[8]}" is a key of type ed448: ${kinds}`,
      `config: identityToken.signingKeyFile.9: "${files[9]}" is a 1024-bit RSA key: ${kinds}`,
    ]);
    expect(lines.join('\n')).not.toContain(String(sec1Pem).split('\n')[1]);
  });

  it('names a single file without an index', () => {
    expect(problems(join(dir, 'nowhere.pem'))).toEqual([
      `config: identityToken.signingKeyFile: "${join(dir, 'nowhere.pem')}" cannot be read: no such file`,
    ]);
  });
});
