import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seal, unseal } from './seal.ts';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

describe('seal', () => {
  const key = randomBytes(32);
  const plaintext = Buffer.from('{"accessToken":"secret"}');

  it('unseals what it sealed, with the same key and context', () => {
    expect(text(unseal(key, seal(key, plaintext, 'session:a'), 'session:a'))).toBe('{"accessToken":"secret"}');
  });

  it('hides the plaintext and uses a fresh IV each time', () => {
    const one = seal(key, plaintext, 'session:a');
    const two = seal(key, plaintext, 'session:a');
    expect(Buffer.from(one).includes(Buffer.from('secret'))).toBe(false);
    expect(Buffer.from(one).equals(Buffer.from(two))).toBe(false);
  });

  it('refuses another key, another context, or any changed byte', () => {
    const sealed = seal(key, plaintext, 'session:a');
    expect(unseal(randomBytes(32), sealed, 'session:a')).toBeNull();
    expect(unseal(key, sealed, 'session:b')).toBeNull();
    for (let i = 0; i < sealed.length; i++) {
      const changed = Buffer.from(sealed);
      changed[i] = (changed[i] as number) ^ 1;
      expect(unseal(key, changed, 'session:a'), `byte ${i}`).toBeNull();
    }
    expect(unseal(key, sealed.subarray(0, 20), 'session:a')).toBeNull();
  });

  it('refuses a key of the wrong size as a programming error', () => {
    expect(() => seal(randomBytes(16), plaintext, 'x')).toThrow(TypeError);
  });
});
