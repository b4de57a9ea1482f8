import { and, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { outboxEvents, portfolios } from '../db/schema/index.js';
import { bigintArray, jsonRows, rowsOf } from '../db/batch-sql.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { PubSub } from './pubsub.js';
import type { PortfolioEventMessage, PortfolioEventType } from './topics.js';

export interface NewEvent {
  type: PortfolioEventType;
  payload: Record<string, unknown>;
}

/**
 * Lock a portfolio row for the rest of the transaction. Every money move takes this lock first, so two
 * transactions on one portfolio are serialised (no double spend) and its sequence numbers are gap-free.
 */
export async function lockPortfolio(tx: DbOrTx, portfolioId: string) {
  // NO KEY UPDATE: as exclusive between money moves as FOR UPDATE, but it does not block the KEY SHARE
  // locks that inserts of rows referencing the portfolio (orders, holds, outbox...) take for their foreign
  // key, so a transaction may write those before it takes this lock, late, and others are not held up.
  const [row] = await tx.select().from(portfolios).where(eq(portfolios.id, portfolioId)).for('no key update');
  return row ?? null;
}

/**
 * Write events to the outbox in the caller's transaction, numbered by the portfolio's sequence, in ONE
 * statement: the sequence is advanced (which locks the portfolio row until commit, if the caller has not
 * locked it already) and the rows inserted with the numbers it returns. Callers that need nothing else of
 * the portfolio under its lock call it last, just before the commit, so the lock is held for one round
 * trip. Payloads must not depend on the sequence.
 */
export async function appendEvents(tx: DbOrTx, portfolioId: string, events: NewEvent[], now: Date): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const values = events.map((e, i) => ({ i, type: e.type, payload: e.payload }));
  const res = await tx.execute(sql`with p as (
      update portfolios set event_sequence = event_sequence + ${events.length}::int where id = ${portfolioId}::uuid
      returning event_sequence - ${events.length}::int as base)
    insert into outbox_events (portfolio_id, sequence, type, payload, created_at)
    select ${portfolioId}::uuid, p.base + v.i + 1, v.type, v.payload, ${now.toISOString()}::timestamptz
    from p, jsonb_to_recordset(${jsonRows(values)}) as v(i int, type text, payload jsonb)
    order by v.i
    returning id, sequence`);
  const rows = rowsOf<{ id: string | number; sequence: string | number }>(res).map((r) => ({ id: Number(r.id), sequence: Number(r.sequence) }));
  rows.sort((a, b) => a.sequence - b.sequence);
  return storedEvents(portfolioId, rows, events, now);
}

/** Outbox rows for `events`, numbered from `firstSequence`. */
export function outboxRows(portfolioId: string, firstSequence: number, events: NewEvent[], now: Date) {
  return events.map((e, i) => ({ portfolioId, sequence: firstSequence + i, type: e.type, payload: e.payload, createdAt: now }));
}

/**
 * Insert outbox rows (from {@link outboxRows}) in ONE statement whose text does not depend on how many
 * there are (see db/batch-sql.ts); returns their ids with portfolio and sequence.
 */
export async function insertOutboxRows(tx: DbOrTx, rows: ReturnType<typeof outboxRows>, now: Date): Promise<{ id: number; portfolioId: string; sequence: number }[]> {
  if (rows.length === 0) return [];
  const values = rows.map((r, i) => ({ i, pid: r.portfolioId, seq: r.sequence, type: r.type, payload: r.payload }));
  const res = await tx.execute(sql`insert into outbox_events (portfolio_id, sequence, type, payload, created_at)
    select v.pid, v.seq, v.type, v.payload, ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${jsonRows(values)}) as v(i int, pid uuid, seq bigint, type text, payload jsonb)
    order by v.i
    returning id, portfolio_id, sequence`);
  return rowsOf<{ id: string | number; portfolio_id: string; sequence: string | number }>(res).map((r) => ({ id: Number(r.id), portfolioId: r.portfolio_id, sequence: Number(r.sequence) }));
}

/** The events as written (with their row ids), ready for the relay. */
export function storedEvents(portfolioId: string, rows: { id: number; sequence: number }[], events: NewEvent[], now: Date): StoredEvent[] {
  return rows.map((r, i) => ({
    id: r.id,
    message: { portfolioId, sequence: r.sequence, type: events[i].type, payload: events[i].payload, createdAt: now.toISOString() },
  }));
}

export interface StoredEvent {
  id: number;
  message: PortfolioEventMessage;
}

export function toMessage(row: typeof outboxEvents.$inferSelect): PortfolioEventMessage {
  return {
    portfolioId: row.portfolioId,
    sequence: row.sequence,
    type: row.type as PortfolioEventType,
    payload: row.payload as Record<string, unknown>,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * Publishes committed outbox rows. The process that committed them publishes at once (`published`);
 * a poller picks up rows a crashed process never published. Delivery is at least once: subscribers
 * drop what they have already seen by sequence number.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<unknown> | undefined;
  private pendingMarks: number[] = [];
  private markTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listeners: Array<(m: PortfolioEventMessage) => void> = [];

  constructor(
    private readonly deps: { db: Db; pubsub: PubSub; clock: Clock; logger: Logger },
    private readonly opts: { pollMs: number; graceMs: number; batch: number } = { pollMs: 1000, graceMs: 2000, batch: 500 },
  ) {}

  /** Called with every event this relay publishes (at least once), for fan-out such as notifications. */
  onPublish(listener: (m: PortfolioEventMessage) => void): void {
    this.listeners.push(listener);
  }

  private tell(m: PortfolioEventMessage): void {
    for (const l of this.listeners) {
      try {
        l(m);
      } catch (err) {
        this.deps.logger.error({ err }, 'outbox listener failed');
      }
    }
  }

  /** Publish events this process just committed, then mark them published (batched). */
  async published(events: StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.publishAll(events.map((e) => e.message));
      for (const e of events) this.tell(e.message);
      this.pendingMarks.push(...events.map((e) => e.id));
      this.markTimer ??= setTimeout(() => void this.flushMarks(), 20);
    } catch (err) {
      // Left unmarked: the poller publishes it after the grace period.
      this.deps.logger.warn({ err }, 'publishing outbox events failed; the relay will retry');
    }
  }

  /** One round trip for the lot where the adapter can (one Redis message per portfolio), else one publish each. */
  private async publishAll(messages: PortfolioEventMessage[]): Promise<void> {
    const { pubsub } = this.deps;
    if (pubsub.publishMany) await pubsub.publishMany('portfolio-events', messages.map((m) => ({ key: m.portfolioId, payload: m })));
    else await Promise.all(messages.map((m) => pubsub.publish('portfolio-events', m.portfolioId, m)));
  }

  private async flushMarks(): Promise<void> {
    this.markTimer = undefined;
    const ids = this.pendingMarks;
    this.pendingMarks = [];
    if (ids.length === 0) return;
    try {
      // One statement text whatever the number of ids (db/batch-sql.ts).
      await this.deps.db
        .update(outboxEvents)
        .set({ publishedAt: this.deps.clock.now() })
        .where(sql`${outboxEvents.id} = any(${bigintArray(ids)})`);
    } catch (err) {
      this.deps.logger.warn({ err }, 'marking outbox events published failed; they may be published twice');
    }
  }

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.polling = this.pollOnce()
        .catch((err) => this.deps.logger.error({ err }, 'outbox relay poll failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.opts.pollMs);
        });
    };
    this.timer = setTimeout(loop, this.opts.pollMs);
  }

  /** Publish rows older than the grace period that nobody published (their committer died). */
  async pollOnce(): Promise<number> {
    const cutoff = new Date(this.deps.clock.now().getTime() - this.opts.graceMs);
    return this.deps.db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(outboxEvents)
        .where(and(isNull(outboxEvents.publishedAt), lt(outboxEvents.createdAt, cutoff)))
        .orderBy(outboxEvents.id)
        .limit(this.opts.batch)
        .for('update', { skipLocked: true });
      if (rows.length === 0) return 0;
      const messages = rows.map(toMessage);
      await this.publishAll(messages);
      for (const m of messages) this.tell(m);
      await tx
        .update(outboxEvents)
        .set({ publishedAt: this.deps.clock.now() })
        .where(inArray(outboxEvents.id, rows.map((r) => r.id)));
      return rows.length;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    if (this.markTimer) clearTimeout(this.markTimer);
    await this.flushMarks();
  }
}
