import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { genericPlans, jsonRows, uuidArray } from '../../db/batch-sql.js';
import type { Clock } from '../../lib/clock.js';
import { GroupCommit, ORDER_LOOP_BATCHING } from '../../lib/group-commit.js';
import { insertOutboxRows, outboxRows, storedEvents, type NewEvent, type OutboxRelay, type StoredEvent } from '../../events/outbox.js';
import { orderSnapshot, type OrderRow } from './order.snapshot.js';
import { moveToSubmitting, selectPortfolios } from './batch-reads.js';

/**
 * PENDING → SUBMITTING for many orders in the caller's transaction: their portfolios locked in id order,
 * one guarded UPDATE (`status = 'PENDING'`) for all, one sequence update and one multi-row outbox insert.
 * Returns the moved rows by id (an order no longer PENDING is absent) and their events.
 */
export async function markSubmittingInTx(tx: Tx, ids: string[], portfolioIds: string[], now: Date): Promise<{ moved: Map<string, OrderRow>; events: StoredEvent[] }> {
  const pids = [...new Set(portfolioIds)].sort();
  const [, locked, moved] = await Promise.all([
    tx.execute(genericPlans),
    selectPortfolios(tx, sql`where id = any(${uuidArray(pids)}) order by id for no key update`),
    moveToSubmitting(tx, ids, now),
  ]);
  if (moved.length === 0) return { moved: new Map(), events: [] };
  const seq = new Map(locked.map((p) => [p.id, p.eventSequence]));
  const rows: ReturnType<typeof outboxRows> = [];
  const updated: NewEvent[] = [];
  const byPortfolio = new Map<string, { sequence: number; order: OrderRow }[]>();
  for (const o of moved) {
    const next = seq.get(o.portfolioId)! + 1;
    seq.set(o.portfolioId, next);
    const event: NewEvent = { type: 'ORDER_UPDATED', payload: { order: orderSnapshot(o) } };
    updated.push(event);
    rows.push(...outboxRows(o.portfolioId, next, [event], now));
    byPortfolio.set(o.portfolioId, [...(byPortfolio.get(o.portfolioId) ?? []), { sequence: next, order: o }]);
  }
  const values = [...byPortfolio.keys()].map((pid) => ({ id: pid, seq: seq.get(pid) }));
  const [, stored] = await Promise.all([
    tx.execute(sql`update portfolios as p set event_sequence = v.seq from jsonb_to_recordset(${jsonRows(values)}) as v(id uuid, seq bigint) where p.id = v.id`),
    insertOutboxRows(tx, rows, now),
  ]);
  const idOf = new Map(stored.map((r) => [`${r.portfolioId}/${r.sequence}`, r]));
  const events = moved.flatMap((o, i) => storedEvents(o.portfolioId, [idOf.get(`${o.portfolioId}/${rows[i].sequence}`)!], [updated[i]], now));
  return { moved: new Map(moved.map((o) => [o.id, o])), events };
}

/**
 * Group commit of the submit jobs' first step: the jobs a worker runs at once move their orders to
 * SUBMITTING in one transaction. Null for an order that was no longer PENDING.
 */
export class SubmitBatcher {
  private readonly group: GroupCommit<OrderRow, OrderRow | null>;

  constructor(
    private readonly deps: { db: Db; clock: Clock; relay: Pick<OutboxRelay, 'published'> },
    opts: { maxBatch: number; maxInFlight: number } = ORDER_LOOP_BATCHING,
  ) {
    this.group = new GroupCommit((batch) => this.commit(batch), opts);
  }

  markSubmitting(o: OrderRow): Promise<OrderRow | null> {
    return this.group.push(o);
  }

  private async commit(batch: OrderRow[]): Promise<(OrderRow | null)[]> {
    const now = this.deps.clock.now();
    const ids = [...new Set(batch.map((o) => o.id))];
    const res = await this.deps.db.transaction((tx) =>
      markSubmittingInTx(
        tx,
        ids,
        batch.map((o) => o.portfolioId),
        now,
      ),
    );
    // Not awaited: the broker call need not wait for a Redis round trip (publishes of this process go out
    // in order; one that fails is left to the relay's poller, as always). The order loop holds these
    // events until its acknowledgement's publish (held-events.ts).
    void this.deps.relay.published(res.events);
    // A duplicate of an order within the batch (two jobs for it) gets the move once.
    const given = new Set<string>();
    return batch.map((o) => {
      const m = res.moved.get(o.id);
      if (!m || given.has(o.id)) return null;
      given.add(o.id);
      return m;
    });
  }
}
