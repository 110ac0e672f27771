// Login sessions on top of a SessionStore: what a session holds, created under a new ticket,
// read back only with a valid ticket, sealed with the ticket's key, and indexed (by the
// provider's session id and subject) so that a back-channel logout can find them. The store
// sees session ids, index names (hashes) and ciphertext; never a token or a claim.
import { createHash } from 'node:crypto';
import { seal, unseal } from './seal.ts';
import type { SessionStore } from './store.ts';
import type { Ticket, TicketSigner } from './ticket.ts';

/** What a login session holds (sealed in the store). */
export interface SessionRecord {
  /**
   * The configured issuer of the provider that made the session: only that provider refreshes
   * it, ends it, and is its provider in `allow.providers`. Absent in sessions made before 0.2.
   */
  readonly issuer?: string | undefined;
  /** The ID token's claims, completed by the provider's userinfo when the ID token lacks some. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Scopes the provider granted (token response "scope"). */
  readonly scope?: string | undefined;
  readonly idToken?: string | undefined;
  readonly accessToken?: string | undefined;
  readonly refreshToken?: string | undefined;
  /** Epoch ms: the access token expires. */
  readonly accessExpiresAt?: number | undefined;
  /** Epoch ms: time to refresh the access token (shortly before it expires). */
  readonly refreshAt?: number | undefined;
  /** Epoch ms: the session ends, whatever refreshes happen (session.ttlSeconds after login). */
  readonly expiresAt: number;
}

export interface LoadedSession {
  readonly ticket: Ticket;
  readonly record: SessionRecord;
}

const sessionKey = (id: string) => `session:${id}`;

export class Sessions {
  private readonly store: SessionStore;
  private readonly signer: TicketSigner;

  constructor(store: SessionStore, signer: TicketSigner) {
    this.store = store;
    this.signer = signer;
  }

  /** Stores a new session; resolves its cookie value. `indexes` name it for endIndexed. */
  async create(record: SessionRecord, indexes: readonly string[]): Promise<string> {
    const { ticket, value } = this.signer.issue();
    const ttlMs = record.expiresAt - Date.now();
    await this.save(ticket, record);
    await Promise.all(indexes.map((index) => this.store.addMember(index, ticket.id, ttlMs)));
    return value;
  }

  /**
   * The session that one of the cookie values names, or undefined when none is valid (forged,
   * altered, ended or expired). Throws StoreUnavailableError when the store does not answer.
   */
  async load(cookieValues: readonly string[]): Promise<LoadedSession | undefined> {
    for (const value of cookieValues) {
      const ticket = this.signer.read(value);
      if (ticket === null) continue;
      const record = await this.read(ticket);
      if (record !== undefined) return { ticket, record };
    }
    return undefined;
  }

  /** The session a (verified) ticket names, or undefined when it ended or expired. */
  async read(ticket: Ticket): Promise<SessionRecord | undefined> {
    const sealed = await this.store.get(sessionKey(ticket.id));
    if (sealed === null) return undefined;
    const record = parseRecord(unseal(ticket.key, sealed, sessionKey(ticket.id)));
    return record !== undefined && record.expiresAt > Date.now() ? record : undefined;
  }

  /** Writes the session (again, after a refresh); it keeps its end time. */
  async save(ticket: Ticket, record: SessionRecord): Promise<void> {
    const plaintext = Buffer.from(JSON.stringify(record), 'utf8');
    await this.store.set(
      sessionKey(ticket.id),
      seal(ticket.key, plaintext, sessionKey(ticket.id)),
      record.expiresAt - Date.now(),
    );
  }

  async end(ticket: Ticket): Promise<void> {
    await this.store.delete(sessionKey(ticket.id));
  }

  /** Ends every session filed under `index`; resolves how many there were. */
  async endIndexed(index: string): Promise<number> {
    const ids = await this.store.takeMembers(index);
    await Promise.all(ids.map((id) => this.store.delete(sessionKey(id))));
    return ids.length;
  }
}

/** An index name that says nothing readable about the user: a hash of what it files by. */
export function indexName(kind: string, ...parts: string[]): string {
  return `index:${kind}:${createHash('sha256').update(parts.join('\n')).digest('base64url')}`;
}

function parseRecord(plaintext: Uint8Array | null): SessionRecord | undefined {
  if (plaintext === null) return undefined;
  try {
    const record = JSON.parse(Buffer.from(plaintext).toString('utf8')) as SessionRecord;
    return typeof record === 'object' && record !== null && typeof record.expiresAt === 'number' ? record : undefined;
  } catch {
    return undefined;
  }
}
