import { eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { outboxEvents, outboxPending, portfolios } from '../db/schema/index.js';
import { bigintArray, jsonRows, rowsOf } from '../db/batch-sql.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { PubSub } from './pubsub.js';
import type { PortfolioEvent, PortfolioEventMessage } from './topics.js';

/** An event to append to a portfolio's outbox: its type and that type's payload. */
export type NewEvent = PortfolioEvent;

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
 * An outbox statement's row in `outbox_pending` (one per statement, not per event; one per
 * {@link PENDING_CHUNK} events of a large one) and the ids of its events this process has not yet
 * published. Those events share it; the relay deletes the row once the last of them is published, however
 * the caller splits them among `published` calls.
 */
export class PendingMark {
  private readonly left: Set<number>;
  constructor(
    readonly id: number,
    eventIds: Iterable<number>,
  ) {
    this.left = new Set(eventIds);
  }

  /** `eventId` is published; true exactly once, when it was the statement's last one (its row can go). */
  done(eventId: number): boolean {
    return this.left.delete(eventId) && this.left.size === 0;
  }
}

/** An outbox row as written: its id, portfolio and sequence, and its statement's pending row. */
export interface WrittenEvent {
  id: number;
  portfolioId: string;
  sequence: number;
  pending: PendingMark;
}

/**
 * Events per pending row, at most. A statement of more (a pooled window's claim: one event per child, up
 * to 10,000) gets one row per this many, so its publisher, which hands its events to the relay in chunks,
 * frees them chunk by chunk, and a poller that finds some left past the grace period republishes only
 * those (as one batch), not the whole statement.
 */
export const PENDING_CHUNK = 500;

/**
 * Run `insert` (an `insert into outbox_events … returning id, portfolio_id, sequence` of `count` rows, after
 * the data-modifying CTEs in `before`, if any) so that the SAME statement also inserts the `outbox_pending`
 * row naming every event it wrote (one per {@link PENDING_CHUNK} events): the relay's record of what is
 * still to publish, with no extra round trip. This is the only way outbox rows are written. Rows come
 * back in no particular order.
 */
export async function writeOutbox(tx: DbOrTx, insert: SQL, now: Date, opts: { count: number; before?: SQL }): Promise<WrittenEvent[]> {
  const at = now.toISOString();
  // Two texts, each prepared once: most statements write a few events, and numbering chunks (a window
  // and a join) would cost them about a fifth more Postgres time per event than one array_agg.
  const pend =
    opts.count <= PENDING_CHUNK
      ? sql`pend as (insert into outbox_pending (event_ids, created_at) select array_agg(id), ${at}::timestamptz from ins having count(*) > 0 returning id)
    select ins.id, ins.portfolio_id, ins.sequence, pend.id as pending_id from ins, pend`
      : sql`pend as (insert into outbox_pending (event_ids, created_at)
      select array_agg(c.id order by c.id), ${at}::timestamptz
      from (select id, (row_number() over (order by id) - 1) / ${sql.raw(String(PENDING_CHUNK))} as g from ins) c group by c.g order by c.g
      returning id, event_ids[1] as lo, event_ids[cardinality(event_ids)] as hi)
    select ins.id, ins.portfolio_id, ins.sequence, pend.id as pending_id from ins join pend on ins.id between pend.lo and pend.hi`;
  const res = await tx.execute(sql`with ${opts.before ? sql`${opts.before}, ` : sql.raw('')}ins as (${insert}), ${pend}`);
  const rows = rowsOf<{ id: string | number; portfolio_id: string; sequence: string | number; pending_id: string | number }>(res);
  const idsOf = new Map<number, number[]>();
  for (const r of rows) {
    const pending = Number(r.pending_id);
    const ids = idsOf.get(pending);
    if (ids) ids.push(Number(r.id));
    else idsOf.set(pending, [Number(r.id)]);
  }
  const marks = new Map([...idsOf].map(([pending, ids]) => [pending, new PendingMark(pending, ids)]));
  return rows.map((r) => ({ id: Number(r.id), portfolioId: r.portfolio_id, sequence: Number(r.sequence), pending: marks.get(Number(r.pending_id))! }));
}

/**
 * Write events to the outbox in the caller's transaction, numbered by the portfolio's sequence, in ONE
 * statement: the sequence is advanced (which locks the portfolio row until commit, if the caller has not
 * locked it already), the rows inserted with the numbers it returns, and their pending row. Callers that
 * need nothing else of the portfolio under its lock call it last, just before the commit, so the lock is
 * held for one round trip. Payloads must not depend on the sequence.
 */
export async function appendEvents(tx: DbOrTx, portfolioId: string, events: NewEvent[], now: Date): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const values = events.map((e, i) => ({ i, type: e.type, payload: e.payload }));
  const rows = await writeOutbox(
    tx,
    sql`insert into outbox_events (portfolio_id, sequence, type, payload, created_at)
    select ${portfolioId}::uuid, p.base + v.i + 1, v.type, v.payload, ${now.toISOString()}::timestamptz
    from p, jsonb_to_recordset(${jsonRows(values)}) as v(i int, type text, payload jsonb)
    order by v.i
    returning id, portfolio_id, sequence`,
    now,
    {
      count: events.length,
      before: sql`p as (update portfolios set event_sequence = event_sequence + ${events.length}::int where id = ${portfolioId}::uuid
      returning event_sequence - ${events.length}::int as base)`,
    },
  );
  rows.sort((a, b) => a.sequence - b.sequence);
  return storedEvents(portfolioId, rows, events, now);
}

/** Outbox rows for `events`, numbered from `firstSequence`. */
export function outboxRows(portfolioId: string, firstSequence: number, events: NewEvent[], now: Date) {
  return events.map((e, i) => ({ portfolioId, sequence: firstSequence + i, ...e, createdAt: now }));
}

/**
 * Insert outbox rows (from {@link outboxRows}) and their pending row in ONE statement whose text does
 * not depend on how many there are (see db/batch-sql.ts); returns them as written, in the order given.
 */
export async function insertOutboxRows(tx: DbOrTx, rows: ReturnType<typeof outboxRows>, now: Date): Promise<WrittenEvent[]> {
  if (rows.length === 0) return [];
  const values = rows.map((r, i) => ({ i, pid: r.portfolioId, seq: r.sequence, type: r.type, payload: r.payload }));
  const written = await writeOutbox(
    tx,
    sql`insert into outbox_events (portfolio_id, sequence, type, payload, created_at)
    select v.pid, v.seq, v.type, v.payload, ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${jsonRows(values)}) as v(i int, pid uuid, seq bigint, type text, payload jsonb)
    order by v.i
    returning id, portfolio_id, sequence`,
    now,
    { count: rows.length },
  );
  const byKey = new Map(written.map((w) => [`${w.portfolioId}/${w.sequence}`, w]));
  return rows.map((r) => byKey.get(`${r.portfolioId}/${r.sequence}`)!);
}

/** The events as written (with their row ids and pending row), ready for the relay. */
export function storedEvents(portfolioId: string, rows: { id: number; sequence: number; pending?: PendingMark }[], events: NewEvent[], now: Date): StoredEvent[] {
  return rows.map((r, i) => ({
    id: r.id,
    pending: r.pending,
    message: { portfolioId, sequence: r.sequence, ...events[i], createdAt: now.toISOString() },
  }));
}

export interface StoredEvent {
  id: number;
  message: PortfolioEventMessage;
  /** The pending row of the statement that wrote it (absent only for events built outside the outbox). */
  pending?: PendingMark;
}

/** A stored outbox row as its message. The row's type and payload were written together from a {@link NewEvent}. */
export function toMessage(row: typeof outboxEvents.$inferSelect): PortfolioEventMessage {
  return { portfolioId: row.portfolioId, sequence: row.sequence, type: row.type, payload: row.payload, createdAt: row.createdAt.toISOString() } as PortfolioEventMessage;
}

/**
 * How long published statements' pending rows wait to be deleted together. Each wait is one DELETE per
 * process, so at 100 orders/s 20 ms cost ≈ 50 statements/s in api and worker each (≈ 0.5 per order);
 * 200 ms costs 5. Well inside the poller's grace period (2 s; a quarter of it at most), so the poller
 * does not republish them; a process that dies meanwhile leaves the rows to it, which republishes
 * (subscribers drop repeats by sequence).
 */
export const PENDING_DELETE_MS = 200;

/**
 * Publishes committed outbox rows. The process that committed them publishes at once (`published`) and
 * then deletes their statements' `outbox_pending` rows (batched, one statement per
 * {@link PENDING_DELETE_MS}); a poller publishes the events of pending rows older than the grace period
 * (their committer died or its publish failed) and deletes those rows. Delivery is at least once:
 * subscribers drop what they have already seen by sequence number. The outbox rows themselves are never
 * updated.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<unknown> | undefined;
  private donePending: number[] = [];
  private markTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Whether the last poll left pending rows past the grace period behind (it took one batch). */
  private backlog = false;
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

  /**
   * Publish events this process just committed; once every event of a statement is published, its
   * pending row is deleted (batched). Never throws: what fails stays pending, for the poller.
   */
  async published(events: StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.publishAll(events.map((e) => e.message));
      for (const e of events) this.tell(e.message);
      for (const e of events) if (e.pending?.done(e.id)) this.donePending.push(e.pending.id);
      if (this.donePending.length) this.markTimer ??= setTimeout(() => void this.flushDone(), Math.min(PENDING_DELETE_MS, this.opts.graceMs / 4));
    } catch (err) {
      // Left pending: the poller publishes it after the grace period.
      this.deps.logger.warn({ err }, 'publishing outbox events failed; the relay will retry');
    }
  }

  /** One round trip for the lot where the adapter can (one Redis message per portfolio), else one publish each. */
  private async publishAll(messages: PortfolioEventMessage[]): Promise<void> {
    const { pubsub } = this.deps;
    if (pubsub.publishMany) await pubsub.publishMany('portfolio-events', messages.map((m) => ({ key: m.portfolioId, payload: m })));
    else await Promise.all(messages.map((m) => pubsub.publish('portfolio-events', m.portfolioId, m)));
  }

  private async flushDone(): Promise<void> {
    this.markTimer = undefined;
    const ids = this.donePending;
    this.donePending = [];
    if (ids.length === 0) return;
    try {
      // One statement text whatever the number of ids (db/batch-sql.ts).
      await this.deps.db.delete(outboxPending).where(sql`${outboxPending.id} = any(${bigintArray(ids)})`);
    } catch (err) {
      this.deps.logger.warn({ err }, 'deleting published outbox statements failed; their events may be published twice');
    }
  }

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      let more = false;
      this.polling = this.pollOnce()
        .then(() => void (more = this.backlog))
        .catch((err) => this.deps.logger.error({ err }, 'outbox relay poll failed'))
        .finally(() => {
          // A backlog (a dead process left more than one batch) is drained without waiting a poll period.
          if (!this.stopped) this.timer = setTimeout(loop, more ? 0 : this.opts.pollMs);
        });
    };
    this.timer = setTimeout(loop, this.opts.pollMs);
  }

  /**
   * Publish the events of pending rows older than the grace period (nobody published them: their committer
   * died, or its publish failed), up to `batch` events (at least one row), and delete those rows; returns
   * how many events it published. Rows another poller holds are skipped.
   */
  async pollOnce(): Promise<number> {
    const cutoff = new Date(this.deps.clock.now().getTime() - this.opts.graceMs);
    return this.deps.db.transaction(async (tx) => {
      const locked = await tx
        .select({ id: outboxPending.id, eventIds: outboxPending.eventIds })
        .from(outboxPending)
        .where(lt(outboxPending.createdAt, cutoff))
        .orderBy(outboxPending.id)
        .limit(this.opts.batch)
        .for('update', { skipLocked: true });
      const take: { id: number; eventIds: number[] }[] = [];
      let n = 0;
      for (const r of locked) {
        if (take.length > 0 && n + r.eventIds.length > this.opts.batch) break;
        take.push(r);
        n += r.eventIds.length;
      }
      this.backlog = take.length < locked.length || locked.length === this.opts.batch;
      if (take.length === 0) return 0;
      const ids = take.flatMap((r) => r.eventIds.map(Number));
      const rows = await tx
        .select()
        .from(outboxEvents)
        .where(sql`${outboxEvents.id} = any(${bigintArray(ids)})`)
        .orderBy(outboxEvents.id);
      const messages = rows.map(toMessage);
      if (messages.length) await this.publishAll(messages);
      for (const m of messages) this.tell(m);
      await tx.delete(outboxPending).where(sql`${outboxPending.id} = any(${bigintArray(take.map((r) => r.id))})`);
      return messages.length;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    if (this.markTimer) clearTimeout(this.markTimer);
    await this.flushDone();
  }
}
