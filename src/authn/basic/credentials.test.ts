// Decoding `Authorization: Basic` credentials: one named test per malformed input.
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../errors.ts';
import { MAX_ENCODED_LENGTH, parseBasicCredentials } from './credentials.ts';

const encode = (raw: string | Buffer) => Buffer.from(raw).toString('base64');

function refusal(encoded: string): string | undefined {
  try {
    parseBasicCredentials(encoded);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(UnauthorizedError);
    const { rejection, status } = error as UnauthorizedError;
    expect(status).toBe(401);
    expect(rejection?.method).toBe('basic');
    return rejection?.description;
  }
}

describe('well-formed credentials', () => {
  it('splits user and password at the first colon: a password may contain colons', () => {
    const { user, password } = parseBasicCredentials(encode('alice:pa:ss:'));
    expect(user).toBe('alice');
    expect(password.toString()).toBe('pa:ss:');
  });

  it('keeps a UTF-8 user name as text and the password as its raw bytes', () => {
    const raw = Buffer.concat([Buffer.from('jürgen:'), Buffer.from([0xff, 0x00, 0xfe])]);
    const parsed = parseBasicCredentials(raw.toString('base64'));
    expect(parsed.user).toBe('jürgen');
    expect([...parsed.password]).toEqual([0xff, 0x00, 0xfe]);
    expect(parsed.raw.equals(raw)).toBe(true);
  });

  it('accepts an empty password and unpadded base64', () => {
    expect(parseBasicCredentials(encode('bob:')).password.length).toBe(0);
    expect(parseBasicCredentials(encode('bob:x').replace(/=+$/, '')).user).toBe('bob');
  });
});

describe('malformed credentials are refused before any hash work', () => {
  it('malformed base64', () => {
    expect(refusal('not base64!')).toBe('the credentials are not base64');
    expect(refusal('YWxpY2U6c2VjcmV0=x')).toBe('the credentials are not base64');
    expect(refusal('')).toBe('the credentials are not base64');
    expect(refusal('a')).toBe('the credentials are not base64');
  });

  it('missing colon', () => {
    expect(refusal(encode('alicesecret'))).toBe('the credentials have no colon between user and password');
  });

  it('empty user', () => {
    expect(refusal(encode(':secret'))).toBe('the user name is empty');
  });

  it('a 10 KB header', () => {
    const huge = encode(`alice:${'x'.repeat(10 * 1024)}`);
    expect(huge.length).toBeGreaterThan(MAX_ENCODED_LENGTH);
    expect(refusal(huge)).toBe('the credentials are too long');
  });

  it('non-UTF-8 bytes in the user name', () => {
    expect(refusal(Buffer.from([0x61, 0xc3, 0x28, 0x3a, 0x78]).toString('base64'))).toBe('the user name is not UTF-8');
  });

  it('control characters in the user name', () => {
    expect(refusal(encode('ali\nce:x'))).toBe('the user name contains control characters');
  });
});
