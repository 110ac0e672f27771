import { describe, expect, it } from 'vitest';
import { MemoryStore } from './memory-store.ts';
import { indexName, type SessionRecord, Sessions } from './sessions.ts';
import { TicketSigner } from './ticket.ts';

const SECRET = 'a cookie secret that is long enough!';

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    claims: { sub: 'alice', email: 'alice@example.com' },
    accessToken: 'access-token-value',
    refreshToken: 'refresh-token-value',
    expiresAt: Date.now() + 60_000,
    ...overrides,
  };
}

describe('Sessions', () => {
  it('creates a session that its cookie value loads, sealed in the store', async () => {
    const store = new MemoryStore();
    const sessions = new Sessions(store, new TicketSigner([SECRET]));
    const value = await sessions.create(record(), []);
    const loaded = await sessions.load([value]);
    expect(loaded?.record.accessToken).toBe('access-token-value');
    const stored = Buffer.from((await store.get(`session:${loaded?.ticket.id}`)) as Uint8Array);
    for (const secret of ['access-token-value', 'refresh-token-value', 'alice']) {
      expect(stored.includes(Buffer.from(secret))).toBe(false);
    }
  });

  it('takes the first valid cookie value among several', async () => {
    const sessions = new Sessions(new MemoryStore(), new TicketSigner([SECRET]));
    const value = await sessions.create(record(), []);
    expect(await sessions.load(['garbage', value])).toBeDefined();
  });

  it('loads nothing for an ended, expired, or moved session', async () => {
    const store = new MemoryStore();
    const sessions = new Sessions(store, new TicketSigner([SECRET]));
    const ended = await sessions.create(record(), []);
    await sessions.end((await sessions.load([ended]))?.ticket as never);
    expect(await sessions.load([ended])).toBeUndefined();
    const expired = await sessions.create(record({ expiresAt: Date.now() + 30 }), []);
    await new Promise((r) => setTimeout(r, 60));
    expect(await sessions.load([expired])).toBeUndefined();
    // A sealed session copied under another session's id does not open there.
    const a = await sessions.load([await sessions.create(record(), [])]);
    const b = await sessions.load([await sessions.create(record({ claims: { sub: 'bob' } }), [])]);
    const sealedB = (await store.get(`session:${b?.ticket.id}`)) as Uint8Array;
    await store.set(`session:${a?.ticket.id}`, sealedB, 60_000);
    expect(await sessions.read(a?.ticket as never)).toBeUndefined();
  });

  it('ends every session filed under an index', async () => {
    const sessions = new Sessions(new MemoryStore(), new TicketSigner([SECRET]));
    const index = indexName('sub', 'https://issuer', 'alice');
    const one = await sessions.create(record(), [index]);
    const two = await sessions.create(record(), [index]);
    const other = await sessions.create(record(), [indexName('sub', 'https://issuer', 'bob')]);
    expect(await sessions.endIndexed(index)).toBe(2);
    expect(await sessions.load([one])).toBeUndefined();
    expect(await sessions.load([two])).toBeUndefined();
    expect(await sessions.load([other])).toBeDefined();
    expect(index).not.toContain('alice');
  });
});
