import { describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/free-port.ts';
import { failureReason } from './failure-reason.ts';

async function fetchError(url: string): Promise<unknown> {
  try {
    await fetch(url);
  } catch (error) {
    return error;
  }
  throw new Error(`${url} answered`);
}

describe('failureReason', () => {
  it('says why fetch failed, from its cause: a port fetch refuses', async () => {
    expect(failureReason(await fetchError('http://127.0.0.1:4190/'))).toBe('fetch failed: bad port');
  });

  it('says why fetch failed, from its cause: nothing listens', async () => {
    const port = await freePort();
    expect(failureReason(await fetchError(`http://127.0.0.1:${port}/`))).toBe(
      `fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it('keeps a code that the message does not carry, and skips what an earlier part already says', () => {
    const inner = Object.assign(new Error(''), { code: 'ECONNREFUSED' });
    expect(failureReason(new TypeError('fetch failed', { cause: inner }))).toBe('fetch failed: ECONNREFUSED');
    const wrapped = new Error('https://idp/jwks: fetch failed: bad port', { cause: new TypeError('fetch failed') });
    expect(failureReason(wrapped)).toBe('https://idp/jwks: fetch failed: bad port');
    expect(failureReason(undefined)).toBe('unknown error');
  });
});
