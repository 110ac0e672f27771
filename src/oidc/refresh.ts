// Refreshes a session's access token shortly before it expires, once per session however
// many requests arrive together: requests in this process share one refresh, and replicas
// take a lock in the store (refresh tokens are often single-use: two refreshes with the same
// one could make the provider revoke them all). Outcomes:
// - new tokens: the sealed record is rewritten (same id, same key, same end);
// - the provider refuses (revoked, expired refresh token): the session ends;
// - the provider is out of reach: the session goes on with what it has, and the refresh is
//   retried after a pause (requests must not each wait for a provider that is down).
import { LRUCache } from 'lru-cache';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { LoadedSession, SessionRecord, Sessions } from '../sessions/sessions.ts';
import type { SessionStore } from '../sessions/store.ts';
import type { OidcClient } from './provider-client.ts';
import { refreshedRecord } from './session-record.ts';

/** Longer than the provider's request timeout: a lock outlives the refresh it guards. */
const LOCK_TTL_MS = 15_000;
const PAUSE_AFTER_FAILURE_MS = 30_000;
const WAIT_FOR_OTHER_MS = 2_000;

export interface RefresherParts {
  readonly sessions: Sessions;
  readonly store: SessionStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export class SessionRefresher {
  private readonly parts: RefresherParts;
  private readonly inflight = new Map<string, Promise<SessionRecord | undefined>>();
  private readonly paused = new LRUCache<string, true>({ max: 10_000, ttl: PAUSE_AFTER_FAILURE_MS });

  constructor(parts: RefresherParts) {
    this.parts = parts;
  }

  /**
   * The record to use now, refreshed first when due (at `client`, the session's own provider);
   * undefined when the session has ended.
   */
  current(session: LoadedSession, client: OidcClient): Promise<SessionRecord | undefined> {
    const { ticket, record } = session;
    if (record.refreshToken === undefined || record.refreshAt === undefined || Date.now() < record.refreshAt) {
      return Promise.resolve(record);
    }
    if (this.paused.has(ticket.id)) return Promise.resolve(record);
    let running = this.inflight.get(ticket.id);
    if (!running) {
      running = this.refreshOnce(session, client).finally(() => this.inflight.delete(ticket.id));
      this.inflight.set(ticket.id, running);
    }
    return running;
  }

  private async refreshOnce(session: LoadedSession, client: OidcClient): Promise<SessionRecord | undefined> {
    const { store } = this.parts;
    const lock = `refresh-lock:${session.ticket.id}`;
    if ((await store.increment(lock, LOCK_TTL_MS)).count > 1) return this.awaitOther(session);
    try {
      // The record may have been refreshed since this request read it (by a request that held
      // the lock just before): refreshing again would spend a refresh token already used.
      const latest = await this.parts.sessions.read(session.ticket);
      if (latest === undefined) return undefined;
      if (latest.refreshAt !== session.record.refreshAt) return latest;
      return await this.refresh({ ticket: session.ticket, record: latest }, client);
    } finally {
      await store.delete(lock).catch(() => {});
    }
  }

  private async refresh({ ticket, record }: LoadedSession, client: OidcClient): Promise<SessionRecord | undefined> {
    const { sessions, logger, metrics } = this.parts;
    const result = await client.refresh(record.refreshToken as string);
    if (result.ok) {
      const next = refreshedRecord(record, result.tokens);
      await sessions.save(ticket, next);
      metrics.sessionRefreshes.inc({ result: 'refreshed' });
      return next;
    }
    if (result.refused) {
      metrics.sessionRefreshes.inc({ result: 'refused' });
      logger.info({ reason: result.reason }, 'the provider refused a refresh; the session ends');
      await sessions.end(ticket);
      return undefined;
    }
    metrics.sessionRefreshes.inc({ result: 'failed' });
    logger.warn({ reason: result.reason }, 'session refresh failed; the session goes on and retries later');
    this.paused.set(ticket.id, true);
    return record;
  }

  /** Another replica is refreshing: use the current token while it holds, else wait for theirs. */
  private async awaitOther({ ticket, record }: LoadedSession): Promise<SessionRecord | undefined> {
    if (record.accessExpiresAt !== undefined && Date.now() < record.accessExpiresAt) return record;
    const deadline = Date.now() + WAIT_FOR_OTHER_MS;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const latest = await this.parts.sessions.read(ticket);
      if (latest === undefined) return undefined;
      if (latest.refreshAt !== record.refreshAt) return latest;
    }
    return record;
  }
}
