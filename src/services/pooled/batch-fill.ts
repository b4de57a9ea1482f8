/**
 * The batched fill applier: many child fills applied in the CALLER's transaction with a fixed number of
 * statements whatever their count (each a multi-row insert or update whose rows travel as ONE jsonb
 * parameter, read with jsonb_to_recordset: no parameter limit, little to build or parse per row):
 * read and lock once (portfolios in id order, the orders, positions, holds, held cash), plan in memory
 * (batch-fill.plan.ts, FillApplier's rules), then insert the fills, and write the orders, positions,
 * ledger lines, holds, portfolios (cash and event sequence) and outbox events. The events are returned
 * for the caller to publish after its commit. Same books and events as FillApplier.applyInTx applied
 * once per share (test/pooled.batch-fill.test.ts compares them field by field).
 */
import { and, asc, eq, isNull, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { fills, holds, orders, portfolios, positions } from '../../db/schema/index.js';
import { rowSnapshotSql } from './outbox-sql.js';
import { dec, toDb, type Decimal } from '../../lib/decimal.js';
import { UnrecoverableJobError } from '../../jobs/queue.js';
import { writeOutbox, type NewEvent, type StoredEvent, type WrittenEvent } from '../../events/outbox.js';
import { fillValues, planBatch, positionKey, type BatchState, type ChildShare, type FillRow, type PlannedEvent } from './batch-fill.plan.js';

export class BatchFillApplier {
  /**
   * Lock the portfolios of `orderIds` (in id order, as placement and FillApplier do: no deadlock) and
   * read, under those locks, everything the batch will touch.
   */
  async load(tx: Tx, portfolioIds: string[], orderIds: string[]): Promise<BatchState> {
    const pids = [...new Set(portfolioIds)].sort();
    const state: BatchState = { portfolios: new Map(), orders: new Map(), positions: new Map(), holds: new Map(), heldCash: new Map() };
    if (orderIds.length === 0) return state;
    // The portfolio locks first, in id order; then the rest in one pipeline.
    const rows = await tx.select().from(portfolios).where(idIn(portfolios.id, pids)).orderBy(asc(portfolios.id)).for('update');
    for (const p of rows) state.portfolios.set(p.id, { cash: p.cash, eventSequence: p.eventSequence, baseCurrency: p.baseCurrency });
    const [os, pos, hs, held] = await Promise.all([
      tx.select().from(orders).where(idIn(orders.id, orderIds)).orderBy(asc(orders.id)).for('update'),
      tx
        .select()
        .from(positions)
        .where(and(idIn(positions.portfolioId, pids), sql`${positions.instrumentId} in (select instrument_id from orders where ${idIn(orders.id, orderIds)})`))
        .for('update'),
      tx.select().from(holds).where(and(idIn(holds.orderId, orderIds), isNull(holds.releasedAt))),
      tx
        .select({ portfolioId: holds.portfolioId, total: sql<string>`coalesce(sum(${holds.amount}), 0)` })
        .from(holds)
        .where(and(idIn(holds.portfolioId, pids), eq(holds.kind, 'CASH'), isNull(holds.releasedAt)))
        .groupBy(holds.portfolioId),
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
        throw new UnrecoverableJobError(`fill ${f.brokerFillId} of order ${f.orderId} has a non-positive quantity or price`);
      }
    }
    if (new Set(shares.map((s) => s.orderId)).size !== shares.length) throw new UnrecoverableJobError('one share per order in a batch');
    if (shares.some((s) => s.executedAt.getTime() !== shares[0].executedAt.getTime())) throw new UnrecoverableJobError('one execution time per batch');

    // The fills first (their ids go into the ledger lines, their rows as stored into the events).
    const values = fillValues(shares, state, now).map((f) => ({ oid: f.orderId, pid: f.portfolioId, bfid: f.brokerFillId, q: f.quantity, p: f.price, fee: f.fee }));
    const nowIso = now.toISOString();
    const insertedRaw = rowsOf<{ id: string; order_id: string; portfolio_id: string; broker_fill_id: string; quantity: string; price: string; fee: string }>(
      await tx.execute(sql`insert into fills (order_id, portfolio_id, broker_fill_id, quantity, price, fee, executed_at, created_at)
        select v.oid, v.pid, v.bfid, v.q, v.p, v.fee, ${shares[0].executedAt.toISOString()}::timestamptz, ${nowIso}::timestamptz
        from jsonb_to_recordset(${JSON.stringify(values)}::text::jsonb) as v(oid uuid, pid uuid, bfid text, q numeric, p numeric, fee numeric)
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
    // The caller's idempotency record (parent fill, allocation rows) rules replays out; a fill already
    // there means the books and that record disagree: roll everything back rather than double-apply.
    if (inserted.length !== shares.length) throw new UnrecoverableJobError(`${shares.length - inserted.length} child fill(s) were applied before`);
    const byOrder = new Map(inserted.map((f) => [f.orderId, f]));
    const plan = planBatch(
      shares.map((share) => ({ share, fill: byOrder.get(share.orderId)! })),
      state,
      now,
    );

    const orderRows = [...plan.orders].map(([id, o]) => ({
      id,
      filled: o.filledQuantity,
      avg: o.averageFillPrice,
      fees: o.feesPaid,
      status: o.status,
      boid: o.brokerOrderId,
      closed: o.closedAt?.toISOString() ?? null,
    }));
    const positionRows = [...plan.positions.values()].map((p) => ({ pid: p.portfolioId, iid: p.instrumentId, q: p.quantity, avg: p.averageCost, pnl: p.realizedPnl }));
    const ledgerRows = plan.ledger.map((l, i) => ({ i, pid: l.portfolioId, kind: l.kind, amount: l.amount, ccy: l.currency, oid: l.orderId, fid: l.fillId, d: l.description }));
    const portfolioRows = [...plan.portfolios].map(([id, a]) => ({ id, delta: a.delta.toFixed(), n: a.events }));
    const holdRows = [...plan.holds].map(([id, h]) => ({ id, amount: h.amount, released: h.releasedAt?.toISOString() ?? null }));
    // Each statement takes its rows as ONE jsonb parameter (no per-value parameters to build and parse).
    // The orders' update and the outbox rows are one statement: the events' order and fill snapshots are
    // built by Postgres from the rows just written (outbox-sql.ts), not shipped from here.
    const [, , , , stored] = await Promise.all([
      tx.execute(sql`insert into positions (portfolio_id, instrument_id, quantity, average_cost, realized_pnl, updated_at)
        select v.pid, v.iid, v.q, v.avg, v.pnl, ${nowIso}::timestamptz
        from jsonb_to_recordset(${JSON.stringify(positionRows)}::text::jsonb) as v(pid uuid, iid uuid, q numeric, avg numeric, pnl numeric)
        on conflict (portfolio_id, instrument_id) do update set quantity = excluded.quantity, average_cost = excluded.average_cost,
          realized_pnl = excluded.realized_pnl, updated_at = excluded.updated_at`),
      ledgerRows.length
        ? tx.execute(sql`insert into ledger_entries (portfolio_id, kind, amount, currency, order_id, fill_id, description, created_at)
            select v.pid, v.kind::ledger_kind, v.amount, v.ccy, v.oid, v.fid, v.d, ${nowIso}::timestamptz
            from jsonb_to_recordset(${JSON.stringify(ledgerRows)}::text::jsonb) as v(i int, pid uuid, kind text, amount numeric, ccy text, oid uuid, fid uuid, d text)
            order by v.i`)
        : Promise.resolve(),
      tx.execute(sql`update portfolios as p set cash = p.cash + v.delta, event_sequence = p.event_sequence + v.n
        from jsonb_to_recordset(${JSON.stringify(portfolioRows)}::text::jsonb) as v(id uuid, delta numeric, n bigint)
        where p.id = v.id`),
      holdRows.length
        ? tx.execute(sql`update holds as h set amount = v.amount, released_at = v.released, updated_at = ${nowIso}::timestamptz
            from jsonb_to_recordset(${JSON.stringify(holdRows)}::text::jsonb) as v(id uuid, amount numeric, released timestamptz)
            where h.id = v.id`)
        : Promise.resolve(),
      updateOrdersWithEvents(tx, orderRows, inserted, plan.events, now),
    ]);
    return stored;
  }
}

/**
 * appendEvents (events/outbox.ts) for many portfolios at once, in the caller's transaction (which
 * holds their locks): one multi-row update of the sequences, one multi-row insert of the outbox rows.
 * `ordersAsStored`: the caller vouches that the orders in ORDER_UPDATED payloads are the orders' rows as
 * they now stand in `tx` (as the window's claim does, right after its update), so Postgres builds those
 * snapshots from the rows instead of receiving them.
 */
export async function appendEventsMany(tx: Tx, perPortfolio: Map<string, NewEvent[]>, now: Date, opts: { ordersAsStored?: boolean } = {}): Promise<StoredEvent[]> {
  const entries = [...perPortfolio].filter(([, es]) => es.length > 0);
  if (entries.length === 0) return [];
  const last = new Map(
    rowsOf<{ id: string; seq: string | number }>(
      await tx.execute(sql`update portfolios as p set event_sequence = p.event_sequence + v.n
        from jsonb_to_recordset(${JSON.stringify(entries.map(([id, es]) => ({ id, n: es.length })))}::text::jsonb) as v(id uuid, n bigint)
        where p.id = v.id returning p.id, p.event_sequence as seq`),
    ).map((r) => [r.id, Number(r.seq)]),
  );
  const planned: PlannedEvent[] = [];
  for (const [id, es] of entries) {
    const first = last.get(id)! - es.length + 1;
    es.forEach((event, i) => planned.push({ portfolioId: id, sequence: first + i, event }));
  }
  const rows = planned.map((e, i) => {
    const p = e.event.payload;
    const o = p.order as { id?: unknown } | undefined;
    if (opts.ordersAsStored && e.event.type === 'ORDER_UPDATED' && o && typeof o.id === 'string' && Object.keys(p).length === 1) {
      return { i, pid: e.portfolioId, seq: e.sequence, type: e.event.type, t: ORDER_ONLY, oid: o.id };
    }
    return { i, pid: e.portfolioId, seq: e.sequence, type: e.event.type, payload: p };
  });
  const written = await writeOutbox(
    tx,
    sql`insert into outbox_events (portfolio_id, sequence, type, payload, created_at)
      select e.pid, e.seq, e.type, case when e.t = ${sql.raw(String(ORDER_ONLY))} then jsonb_build_object('order', ${rowSnapshotSql(orders, 'o')}) else e.payload end, ${now.toISOString()}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as e(i int, pid uuid, seq bigint, type text, t int, oid uuid, payload jsonb)
      left join orders as o on o.id = e.oid
      order by e.i
      returning id, portfolio_id, sequence`,
    now,
  );
  return storedOf(planned, written, now);
}

/**
 * The allocation rows of one parent fill (the record that it reached these children), in one
 * statement: `(parent, key, child)` is their primary key.
 */
export async function insertAllocations(tx: Tx, parentId: string, key: string, price: Decimal, now: Date, rows: { c: string; q: string; fee: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.execute(sql`insert into pooled_allocations (parent_id, parent_fill_key, child_order_id, quantity, price, fee, created_at)
    select ${parentId}::uuid, ${key}, v.c, v.q, ${toDb(price)}::numeric, v.fee, ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as v(c uuid, q numeric, fee numeric)`);
}

/** How an outbox row's payload is made: as sent, or built by Postgres (outbox-sql.ts). */
const FILL_AND_ORDER = 1;
const ORDER_ONLY = 2;

/**
 * The children's orders updated and their outbox rows inserted, in ONE statement. A FILL_RECEIVED
 * (`{fill, order}`) or ORDER_UPDATED (`{order}`) event whose order snapshot is this batch's final state
 * of that order (one share per order: always) is built by Postgres: the order from the updated row, with
 * the values this batch wrote as Node formatted them (filled quantity, average price, fees: JS decimals,
 * not the column's scale), the fill from the fills row inserted earlier in the transaction. Any other
 * event travels as it is. Returns the events as written (with their row ids), for the relay.
 */
async function updateOrdersWithEvents(
  tx: Tx,
  orderRows: { id: string; filled: string; avg: string | null; fees: string; status: string; boid: string | null; closed: string | null }[],
  fillRows: FillRow[],
  events: PlannedEvent[],
  now: Date,
): Promise<StoredEvent[]> {
  const nowIso = now.toISOString();
  const byId = new Map(orderRows.map((o) => [o.id, o]));
  const fillIds = new Set(fillRows.map((f) => f.id));
  // The snapshot in the event is exactly what the statement will build (else it travels as it is).
  const asWritten = (o: Record<string, unknown> | undefined) => {
    const w = o && typeof o.id === 'string' ? byId.get(o.id) : undefined;
    return (
      !!w &&
      o!.filledQuantity === w.filled &&
      o!.averageFillPrice === w.avg &&
      o!.feesPaid === w.fees &&
      o!.status === w.status &&
      o!.brokerOrderId === w.boid &&
      o!.closedAt === w.closed &&
      o!.updatedAt === nowIso
    );
  };
  const rows = events.map((e, i) => {
    const p = e.event.payload;
    const n = Object.keys(p).length;
    const o = p.order as Record<string, unknown> | undefined;
    const f = p.fill as { id?: unknown } | undefined;
    const base = { i, pid: e.portfolioId, seq: e.sequence, type: e.event.type };
    if (e.event.type === 'FILL_RECEIVED' && n === 2 && f && typeof f.id === 'string' && fillIds.has(f.id) && asWritten(o)) return { ...base, t: FILL_AND_ORDER, oid: o!.id, fid: f.id };
    if (e.event.type === 'ORDER_UPDATED' && n === 1 && asWritten(o)) return { ...base, t: ORDER_ONLY, oid: o!.id };
    return { ...base, payload: p };
  });
  const order = rowSnapshotSql(orders, 'o', {
    filledQuantity: sql`v.filled`,
    averageFillPrice: sql`v.avg`,
    feesPaid: sql`v.fees`,
    status: sql`v.status`,
    brokerOrderId: sql`v.boid`,
    updatedAt: sql`${nowIso}::text`,
    closedAt: sql`v.closed`,
  });
  // With the statement's pending row (writeOutbox): the relay's record of what is still to publish.
  const written = await writeOutbox(
    tx,
    sql`insert into outbox_events (portfolio_id, sequence, type, payload, created_at)
      select e.pid, e.seq, e.type,
        case e.t when ${sql.raw(String(FILL_AND_ORDER))} then jsonb_build_object('fill', ${rowSnapshotSql(fills, 'f')}, 'order', u.snap)
          when ${sql.raw(String(ORDER_ONLY))} then jsonb_build_object('order', u.snap) else e.payload end,
        ${nowIso}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as e(i int, pid uuid, seq bigint, type text, t int, oid uuid, fid uuid, payload jsonb)
      left join u on u.id = e.oid
      left join fills as f on f.id = e.fid
      order by e.i
      returning id, portfolio_id, sequence`,
    now,
    sql`v as (
        select * from jsonb_to_recordset(${JSON.stringify(orderRows)}::text::jsonb) as v(id uuid, filled text, avg text, fees text, status text, boid text, closed text)
      ), u as (
        update orders as o set filled_quantity = v.filled::numeric, average_fill_price = v.avg::numeric, fees_paid = v.fees::numeric,
          status = v.status::order_status, broker_order_id = v.boid, updated_at = ${nowIso}::timestamptz, closed_at = v.closed::timestamptz
        from v where o.id = v.id
        returning o.id, ${order} as snap
      )`,
  );
  return storedOf(events, written, now);
}

/** The events as written, with their outbox row ids and pending rows (for the relay). */
function storedOf(events: PlannedEvent[], written: WrittenEvent[], now: Date): StoredEvent[] {
  if (written.length !== events.length) throw new Error(`outbox: ${written.length} rows written for ${events.length} events`);
  const nowIso = now.toISOString();
  const byKey = new Map(written.map((r) => [`${r.portfolioId}:${r.sequence}`, r]));
  return events.map((e) => {
    const w = byKey.get(`${e.portfolioId}:${e.sequence}`)!;
    return {
      id: w.id,
      pending: w.pending,
      message: { portfolioId: e.portfolioId, sequence: e.sequence, type: e.event.type, payload: e.event.payload, createdAt: nowIso },
    };
  });
}

/** Rows of a raw statement, whichever driver ran it (postgres.js: an array; PGlite: { rows }). */
function rowsOf<T>(res: unknown): T[] {
  return (Array.isArray(res) ? res : ((res as { rows?: unknown[] }).rows ?? [])) as T[];
}

/** `column IN (ids)` with the ids as ONE jsonb parameter. */
export function idIn(column: AnyColumn, ids: string[]): SQL {
  return sql`${column} in (select jsonb_array_elements_text(${JSON.stringify(ids)}::text::jsonb)::uuid)`;
}
