/**
 * The batched fill applier: many child fills applied in the CALLER's transaction with a fixed number of
 * statements whatever their count (each a multi-row insert or update whose rows travel as ONE array
 * parameter per column, read with unnest (batch-sql.ts unnestRows): no parameter limit, little to build
 * or parse per row):
 * read and lock once (portfolios in id order, the orders, positions, holds, held cash), plan in memory
 * (batch-fill.plan.ts, FillApplier's rules), then insert the fills, and write the orders, positions,
 * ledger lines, holds, portfolios (cash and event sequence) and outbox events. The events are returned
 * for the caller to publish after its commit. Same books and events as FillApplier.applyInTx applied
 * once per share (test/pooled.batch-fill.test.ts compares them field by field).
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { heldCashOf, selectHolds, selectOrders, selectPortfolios, selectPositions } from '../orders/batch-reads.js';
import { dec } from '../../lib/decimal.js';
import { rowsOf, unnestRows, uuidArray } from '../../db/batch-sql.js';
import { writeOutbox, type NewEvent, type StoredEvent } from '../../events/outbox.js';
import { orderIn } from '../../events/topics.js';
import { fillValues, planBatch, positionKey, type BatchState, type ChildShare, type FillRow, type PlannedEvent } from './batch-fill.plan.js';
import { PermanentError } from '../../errors.js';
import { postLedgerMany } from '../ledger.js';

export class BatchFillApplier {
  /**
   * Lock the portfolios of `orderIds` (in id order, as placement and FillApplier do: no deadlock) and
   * read, under those locks, everything the batch will touch.
   */
  async load(tx: Tx, portfolioIds: string[], orderIds: string[]): Promise<BatchState> {
    const pids = [...new Set(portfolioIds)].sort();
    const state: BatchState = { portfolios: new Map(), orders: new Map(), positions: new Map(), holds: new Map(), heldCash: new Map() };
    if (orderIds.length === 0) return state;
    // The portfolio locks first, in id order; then the rest in one pipeline. Raw every-column reads
    // (orders/batch-reads.ts), as the order loop's batches read: no drizzle builder per statement.
    const rows = await selectPortfolios(tx, sql`where id = any(${uuidArray(pids)}) order by id for update`);
    for (const p of rows) state.portfolios.set(p.id, { cash: p.cash, eventSequence: p.eventSequence, baseCurrency: p.baseCurrency });
    const ids = uuidArray(orderIds);
    const [os, pos, hs, held] = await Promise.all([
      selectOrders(tx, sql`where id = any(${ids}) order by id for update`),
      selectPositions(tx, sql`where portfolio_id = any(${uuidArray(pids)}) and instrument_id in (select instrument_id from orders where id = any(${ids})) for update`),
      selectHolds(tx, sql`where order_id = any(${ids}) and released_at is null`),
      heldCashOf(tx, pids),
    ]);
    for (const o of os) state.orders.set(o.id, o);
    for (const p of pos) state.positions.set(positionKey(p.portfolioId, p.instrumentId), p);
    for (const h of hs) state.holds.set(h.orderId, h);
    for (const h of held) state.heldCash.set(h.portfolioId, dec(h.total));
    return state;
  }

  /**
   * Apply `shares` (at most one per order) to the books in `tx`, from `state` (read by {@link load} in
   * the same transaction). Returns the events written, to publish after the commit.
   */
  async apply(tx: Tx, state: BatchState, shares: ChildShare[], now: Date): Promise<StoredEvent[]> {
    if (shares.length === 0) return [];
    for (const f of shares) {
      if (!f.quantity.isFinite() || f.quantity.lte(0) || !f.price.isFinite() || f.price.lte(0) || !f.fee.isFinite()) {
        throw new PermanentError(`fill ${f.brokerFillId} of order ${f.orderId} has a non-positive quantity or price`);
      }
    }
    if (new Set(shares.map((s) => s.orderId)).size !== shares.length) throw new PermanentError('one share per order in a batch');
    if (shares.some((s) => s.executedAt.getTime() !== shares[0].executedAt.getTime())) throw new PermanentError('one execution time per batch');

    // The fills first (their ids go into the ledger lines, their rows as stored into the events).
    const values = fillValues(shares, state, now);
    const nowIso = now.toISOString();
    const insertedRaw = rowsOf<{ id: string; order_id: string; portfolio_id: string; broker_fill_id: string; quantity: string; price: string; fee: string }>(
      await tx.execute(sql`insert into fills (order_id, portfolio_id, broker_fill_id, quantity, price, fee, executed_at, created_at)
        select v.oid, v.pid, v.bfid, v.q, v.p, v.fee, ${shares[0].executedAt.toISOString()}::timestamptz, ${nowIso}::timestamptz
        from ${unnestRows(values, { oid: ['uuid', (f) => f.orderId], pid: ['uuid', (f) => f.portfolioId], bfid: ['text', (f) => f.brokerFillId], q: ['numeric', (f) => f.quantity], p: ['numeric', (f) => f.price], fee: ['numeric', (f) => f.fee] })}
        order by v.i
        on conflict (order_id, broker_fill_id) do nothing
        returning id, order_id, portfolio_id, broker_fill_id, quantity::text, price::text, fee::text`),
    );
    const inserted: FillRow[] = insertedRaw.map((r) => ({
      id: r.id,
      orderId: r.order_id,
      portfolioId: r.portfolio_id,
      brokerFillId: r.broker_fill_id,
      quantity: r.quantity,
      price: r.price,
      fee: r.fee,
      executedAt: shares[0].executedAt,
      createdAt: now,
    }));
    // The caller's idempotency record (the parent fill's row; for the cross, these very fills) rules
    // replays out; a fill already there means the books and that record disagree: roll everything back
    // rather than double-apply.
    if (inserted.length !== shares.length) throw new PermanentError(`${shares.length - inserted.length} child fill(s) were applied before`);
    const byOrder = new Map(inserted.map((f) => [f.orderId, f]));
    const plan = planBatch(
      shares.map((share) => ({ share, fill: byOrder.get(share.orderId)! })),
      state,
      now,
    );

    const orderRows = [...plan.orders];
    const positionRows = [...plan.positions.values()];
    const portfolioRows = [...plan.portfolios];
    const holdRows = [...plan.holds];
    // Each statement takes its rows as ONE array parameter per column (no per-value parameters to build and parse).
    const [, , , , stored] = await Promise.all([
      tx.execute(sql`update orders as o set filled_quantity = v.filled, average_fill_price = v.avg, fees_paid = v.fees, status = v.status,
          broker_order_id = v.boid, updated_at = ${nowIso}::timestamptz, closed_at = v.closed
        from ${unnestRows(orderRows, {
          id: ['uuid', ([id]) => id],
          filled: ['numeric', ([, o]) => o.filledQuantity],
          avg: ['numeric', ([, o]) => o.averageFillPrice],
          fees: ['numeric', ([, o]) => o.feesPaid],
          status: ['order_status', ([, o]) => o.status],
          boid: ['text', ([, o]) => o.brokerOrderId],
          closed: ['timestamptz', ([, o]) => o.closedAt?.toISOString()],
        })}
        where o.id = v.id`),
      tx.execute(sql`insert into positions (portfolio_id, instrument_id, quantity, average_cost, realized_pnl, updated_at)
        select v.pid, v.iid, v.q, v.avg, v.pnl, ${nowIso}::timestamptz
        from ${unnestRows(positionRows, { pid: ['uuid', (p) => p.portfolioId], iid: ['uuid', (p) => p.instrumentId], q: ['numeric', (p) => p.quantity], avg: ['numeric', (p) => p.averageCost], pnl: ['numeric', (p) => p.realizedPnl] })}
        on conflict (portfolio_id, instrument_id) do update set quantity = excluded.quantity, average_cost = excluded.average_cost,
          realized_pnl = excluded.realized_pnl, updated_at = excluded.updated_at`),
      // Cash, the ledger and the event sequences through ledger.ts, their one writer.
      postLedgerMany(
        tx,
        plan.ledger,
        portfolioRows.map(([portfolioId, a]) => ({ portfolioId, events: a.events })),
        now,
        'arrays',
      ),
      holdRows.length
        ? tx.execute(sql`update holds as h set amount = v.amount, released_at = v.released, updated_at = ${nowIso}::timestamptz
            from ${unnestRows(holdRows, { id: ['uuid', ([id]) => id], amount: ['numeric', ([, h]) => h.amount], released: ['timestamptz', ([, h]) => h.releasedAt?.toISOString()] })}
            where h.id = v.id`)
        : Promise.resolve(),
      insertOutbox(tx, plan.events, now),
    ]);
    return stored;
  }
}

/**
 * appendEvents (events/outbox.ts) for many portfolios at once, in the caller's transaction (which
 * holds their locks): one multi-row update of the sequences, one multi-row insert of the outbox rows.
 */
export async function appendEventsMany(tx: Tx, perPortfolio: Map<string, NewEvent[]>, now: Date): Promise<StoredEvent[]> {
  const entries = [...perPortfolio].filter(([, es]) => es.length > 0);
  if (entries.length === 0) return [];
  const last = new Map(
    rowsOf<{ id: string; seq: string | number }>(
      await tx.execute(sql`update portfolios as p set event_sequence = p.event_sequence + v.n
        from ${unnestRows(entries, { id: ['uuid', ([id]) => id], n: ['bigint', ([, es]) => es.length] })}
        where p.id = v.id returning p.id, p.event_sequence as seq`),
    ).map((r) => [r.id, Number(r.seq)]),
  );
  const planned: PlannedEvent[] = [];
  for (const [id, es] of entries) {
    const first = last.get(id)! - es.length + 1;
    es.forEach((event, i) => planned.push({ portfolioId: id, sequence: first + i, event }));
  }
  return insertOutbox(tx, planned, now);
}

/**
 * The outbox rows of `events` in one statement; the events as written (with their row ids), for the
 * relay. An order snapshot that several events share (a fill's FILL_RECEIVED and ORDER_UPDATED carry
 * the same object) travels once: the events name it by index and Postgres puts it back into each
 * payload (`payload || {order}`; jsonb keeps no key order, so the stored payload is the same).
 */
async function insertOutbox(tx: Tx, events: PlannedEvent[], now: Date): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  const nowIso = now.toISOString();
  const uses = new Map<unknown, number>();
  for (const { event } of events) {
    const o = orderIn(event);
    if (o) uses.set(o, (uses.get(o) ?? 0) + 1);
  }
  const shared = new Map<unknown, number>();
  const snapshots: unknown[] = [];
  const rows = events.map((e) => {
    const payload = e.event.payload;
    if (!('order' in payload) || (uses.get(payload.order) ?? 0) < 2) return { e, payload: payload as object, k: null };
    const { order, ...rest } = payload;
    let k = shared.get(order);
    if (k === undefined) {
      k = snapshots.length;
      shared.set(order, k);
      snapshots.push(order);
    }
    return { e, payload: rest, k };
  });
  // With the statement's pending row (writeOutbox): the relay's record of what is still to publish. The
  // shared snapshots are ONE JSON array, read once (an uncorrelated subquery is an init plan) and indexed.
  const written = await writeOutbox(
    tx,
    sql`insert into outbox_events (portfolio_id, sequence, type, payload, created_at)
      select v.pid, v.seq, v.type, case when v.k is null then v.payload else v.payload || jsonb_build_object('order', (select ${JSON.stringify(snapshots)}::text::jsonb) -> v.k) end, ${nowIso}::timestamptz
      from ${unnestRows(rows, { pid: ['uuid', (r) => r.e.portfolioId], seq: ['bigint', (r) => r.e.sequence], type: ['text', (r) => r.e.event.type], payload: ['jsonb', (r) => r.payload], k: ['int', (r) => r.k] })}
      order by v.i
      returning id, portfolio_id, sequence`,
    now,
    { count: rows.length },
  );
  const byKey = new Map(written.map((r) => [`${r.portfolioId}:${r.sequence}`, r]));
  return events.map((e) => {
    const w = byKey.get(`${e.portfolioId}:${e.sequence}`)!;
    return {
      id: w.id,
      pending: w.pending,
      message: { portfolioId: e.portfolioId, sequence: e.sequence, ...e.event, createdAt: nowIso },
    };
  });
}

/**
 * `column = any($1::uuid[])`: the ids as ONE parameter of the array type, parsed once at bind. It was
 * `column in (select jsonb_array_elements_text($1)::uuid)`, a subquery the planner may put on the inner
 * side of a nested loop without materializing it: with no statistics yet (a pooled window's holds,
 * just written) it re-read and re-cast the whole list for every candidate row (10,000 × 50 uuid parses
 * in the held-cash lookup of each parent fill: about a third of the close's Postgres CPU).
 */
export function idIn(column: AnyColumn, ids: string[]): SQL {
  return sql`${column} = any(${uuidArray(ids)})`;
}
