import { and, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { outboxEvents, portfolios } from '../db/schema/index.js';
import { BadInputError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';

/** Rows deleted per statement, so a large prune never holds one long transaction. */
const BATCH = 5_000;

/**
 * Outbox retention: events are the replay window of subscriptions, not an archive (the ledger, orders and
 * fills are the record). Published events older than `retentionHours` are deleted by the
 * `prune-outbox` job; unpublished ones (named by a pending row) are kept whatever their age, so the relay
 * still delivers them.
 */
export class OutboxRetention {
  constructor(private readonly deps: { db: Db; clock: Clock; logger: Logger; retentionHours: number }) {}

  /** Delete published events older than the retention; returns how many. A retention of 0 keeps all. */
  async prune(): Promise<number> {
    if (this.deps.retentionHours <= 0) return 0;
    const cutoff = new Date(this.deps.clock.now().getTime() - this.deps.retentionHours * 3_600_000);
    let total = 0;
    for (;;) {
      const batch = this.deps.db
        .select({ id: outboxEvents.id })
        .from(outboxEvents)
        // Published: no pending row (events/outbox.ts) names it.
        .where(and(lt(outboxEvents.createdAt, cutoff), sql`not exists (select 1 from outbox_pending p where ${outboxEvents.id} = any(p.event_ids))`))
        .limit(BATCH);
      const deleted = await this.deps.db.delete(outboxEvents).where(inArray(outboxEvents.id, batch)).returning({ id: outboxEvents.id });
      total += deleted.length;
      if (deleted.length < BATCH) break;
    }
    if (total) this.deps.logger.info({ pruned: total, cutoff: cutoff.toISOString() }, 'outbox events pruned');
    return total;
  }
}

/**
 * A subscriber resuming after `afterSequence` must get every later event. If some of them were pruned,
 * it is told so (BAD_USER_INPUT, field afterSequence, reason REPLAY_WINDOW_EXPIRED) rather than silently
 * missing them: it should reload the state it shows (portfolio, orders) and subscribe without a cursor.
 */
export async function assertReplayWindow(db: Db, cursors: { portfolioId: string; afterSequence: number }[]): Promise<void> {
  if (!cursors.length) return;
  const ids = cursors.map((c) => c.portfolioId);
  // One statement, so one snapshot: read apart, an event committed between the two reads would look
  // like a last sequence with no kept event, and a valid cursor would be refused as expired.
  const rows = await db
    .select({
      id: portfolios.id,
      last: portfolios.eventSequence,
      oldest: sql<string | null>`(select min(o.sequence) from outbox_events o where o.portfolio_id = "portfolios"."id")`,
    })
    .from(portfolios)
    .where(inArray(portfolios.id, ids));
  const byId = new Map(rows.map((r) => [r.id, { ...r, oldest: r.oldest == null ? null : Number(r.oldest) }]));
  for (const c of cursors) {
    const r = byId.get(c.portfolioId);
    if (!r || c.afterSequence >= r.last) continue; // nothing after the cursor to miss
    const oldest = r.oldest;
    // Sequences are gap-free from 1: the next event the subscriber needs is afterSequence + 1.
    if (oldest === null || oldest > c.afterSequence + 1) {
      throw new BadInputError(
        `Events after sequence ${c.afterSequence} of portfolio ${c.portfolioId} are no longer kept (the oldest kept is ${oldest ?? 'none'}); reload and subscribe without afterSequence`,
        'afterSequence',
        'REPLAY_WINDOW_EXPIRED',
      );
    }
  }
}
