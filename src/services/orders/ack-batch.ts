import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { genericPlans, jsonRows, rowsOf, uuidArray } from '../../db/batch-sql.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { GroupCommit, ORDER_LOOP_BATCHING } from '../../lib/group-commit.js';
import { dec, toDb, type Decimal } from '../../lib/decimal.js';
import type { BrokerFill } from '../../brokers/broker.js';
import { insertOutboxRows, outboxRows, storedEvents, type NewEvent, type OutboxRelay, type StoredEvent } from '../../events/outbox.js';
import type { OrderMetrics } from './order-metrics.js';
import { checkFill, fillEffects, type FillBooks } from './fill-math.js';
import { orderSnapshot, type FillRow, type OrderRow } from './order.snapshot.js';
import type { FillApplier } from './fill-applier.js';
import { ledgerCtes, type LedgerRow } from '../ledger.js';
import { heldCashOf, selectHolds, selectOrders, selectPortfolios, selectPositions } from './batch-reads.js';

export interface AckItem {
  seen: OrderRow;
  brokerOrderId: string;
  /** Executions the broker reported while placing the order; those written are removed. */
  executions: BrokerFill[];
}

type PortfolioBooks = { cash: Decimal; heldTotal: Decimal; first: number; currency: string; events: NewEvent[] };

/**
 * Many acknowledgements, and the executions reported with them, in ONE transaction with set-based
 * statements: the portfolios locked in id order, then the orders, positions and holds read (and
 * locked) in one pipeline; the fills inserted in one statement (unique per order and broker fill id,
 * so a replay is skipped); then ONE statement for the orders, positions, ledger lines, holds and
 * portfolios (cash and event sequence), pipelined with the outbox rows'. Per portfolio the events are numbered from its
 * locked sequence, so sequences stay gap-free. Each order whose row is no longer SUBMITTING gets null
 * and nothing of it is written (as {@link FillApplier.acknowledge}).
 */
export async function acknowledgeManyInTx(tx: Tx, items: AckItem[], now: Date): Promise<{ orders: (OrderRow | null)[]; events: StoredEvent[]; fills: number }> {
  const ids = [...new Set(items.map((i) => i.seen.id))];
  const pids = [...new Set(items.map((i) => i.seen.portfolioId))].sort();
  const pairs = [...new Map(items.map((i) => [`${i.seen.portfolioId}/${i.seen.instrumentId}`, i.seen])).values()];
  const iso = now.toISOString();
  // The executions of the first item of each order (a duplicate item acknowledges nothing).
  const firstOf = new Map<string, AckItem>();
  for (const it of items) if (!firstOf.has(it.seen.id)) firstOf.set(it.seen.id, it);
  const fillValues = [...firstOf.values()].flatMap((it) =>
    it.executions.map((f) => ({
      oid: it.seen.id,
      pid: it.seen.portfolioId,
      bfid: f.brokerFillId,
      q: toDb(f.quantity),
      p: toDb(f.price),
      fee: toDb(f.fee),
      at: new Date(f.executedAt).toISOString(),
    })),
  );
  // One pipeline: generic plans for this transaction, the portfolio locks first (id order), then everything else they guard, and the fills:
  // inserted in the same round trip (not one more under the locks), only for an order that is (still)
  // SUBMITTING, which the statement sees as it stands, the orders being locked by the statement before.
  // Unique per (order, broker fill id): a replay, or a duplicate within the list, is not returned.
  const [, lockedP, lockedO, posRows, holdRows, heldRows, insertedRes] = await Promise.all([
    tx.execute(genericPlans),
    selectPortfolios(tx, sql`where id = any(${uuidArray(pids)}) order by id for no key update`),
    selectOrders(tx, sql`where id = any(${uuidArray(ids)}) order by id for update`),
    selectPositions(
      tx,
      sql`where (portfolio_id, instrument_id) in (select * from unnest(${uuidArray(pairs.map((o) => o.portfolioId))}, ${uuidArray(pairs.map((o) => o.instrumentId))})) for update`,
    ),
    selectHolds(tx, sql`where order_id = any(${uuidArray(ids)}) and released_at is null`),
    heldCashOf(tx, pids),
    fillValues.length
      ? tx.execute(sql`insert into fills (order_id, portfolio_id, broker_fill_id, quantity, price, fee, executed_at, created_at)
          select v.oid, v.pid, v.bfid, v.q, v.p, v.fee, v.at, ${iso}::timestamptz
          from jsonb_to_recordset(${jsonRows(fillValues)}) as v(oid uuid, pid uuid, bfid text, q numeric, p numeric, fee numeric, at timestamptz)
          where exists (select 1 from orders o join portfolios p on p.id = o.portfolio_id where o.id = v.oid and o.status = 'SUBMITTING')
          on conflict (order_id, broker_fill_id) do nothing
          returning id, order_id, portfolio_id, broker_fill_id, quantity::text, price::text, fee::text, to_json(executed_at)#>>'{}' as at`)
      : Promise.resolve([]),
  ]);
  const held = new Map(heldRows.map((h) => [h.portfolioId, dec(h.total)]));
  const books = new Map<string, PortfolioBooks>(
    lockedP.map((p) => [p.id, { cash: dec(p.cash), heldTotal: held.get(p.id) ?? dec(0), first: p.eventSequence + 1, currency: p.baseCurrency, events: [] }]),
  );
  const orderById = new Map(lockedO.map((o) => [o.id, o]));
  const posByKey = new Map<string, FillBooks['position']>(posRows.map((p) => [`${p.portfolioId}/${p.instrumentId}`, p]));
  const holdByOrder = new Map<string, FillBooks['hold']>(holdRows.map((h) => [h.orderId, { id: h.id, kind: h.kind, amount: h.amount }]));

  // Which items acknowledge: the order is (still) SUBMITTING, its portfolio exists, first of its duplicates.
  const acking = new Map<string, AckItem>();
  for (const it of items) {
    const o = orderById.get(it.seen.id);
    if (o && o.status === 'SUBMITTING' && books.has(o.portfolioId) && !acking.has(o.id)) acking.set(o.id, it);
  }
  if (acking.size === 0) return { orders: items.map(() => null), events: [], fills: 0 };

  const inserted = rowsOf<{ id: string; order_id: string; portfolio_id: string; broker_fill_id: string; quantity: string; price: string; fee: string; at: string }>(insertedRes);
  const fillByKey = new Map<string, FillRow>(
    inserted.map((f) => [
      `${f.order_id}/${f.broker_fill_id}`,
      { id: f.id, orderId: f.order_id, portfolioId: f.portfolio_id, brokerFillId: f.broker_fill_id, quantity: f.quantity, price: f.price, fee: f.fee, executedAt: new Date(f.at), createdAt: now },
    ]),
  );

  // The books, order by order, each execution as FillApplier.applyInTx would apply it.
  const touchedOrders = new Map<string, OrderRow>();
  const touchedPositions = new Map<string, ReturnType<typeof fillEffects>['position']>();
  const touchedHolds = new Map<string, { amount: Decimal; releasedAt: Date | null }>();
  const ledger: LedgerRow[] = [];
  let applied = 0;
  for (const [orderId, it] of acking) {
    const pb = books.get(it.seen.portfolioId)!;
    let order: OrderRow = { ...orderById.get(orderId)!, status: 'OPEN', brokerOrderId: it.brokerOrderId, updatedAt: now };
    pb.events.push({ type: 'ORDER_UPDATED', payload: { order: orderSnapshot(order) } });
    const posKey = `${order.portfolioId}/${order.instrumentId}`;
    for (const f of it.executions) {
      const fill = fillByKey.get(`${orderId}/${f.brokerFillId}`);
      if (!fill) continue; // applied before: a replay
      fillByKey.delete(`${orderId}/${f.brokerFillId}`); // a duplicate within the list applies once
      const hold = holdByOrder.get(orderId) ?? null;
      const fx = fillEffects({ order, position: posByKey.get(posKey) ?? null, cash: pb.cash, heldTotal: pb.heldTotal, hold }, f, fill, now);
      order = fx.order;
      posByKey.set(posKey, fx.position);
      touchedPositions.set(posKey, fx.position);
      pb.cash = fx.cash;
      pb.heldTotal = pb.heldTotal.sub(fx.cashReleased);
      if (hold && fx.holdLeft) {
        const released = fx.holdLeft.isZero();
        touchedHolds.set(hold.id, { amount: fx.holdLeft, releasedAt: released ? now : null });
        holdByOrder.set(orderId, released ? null : { ...hold, amount: toDb(fx.holdLeft) });
      }
      for (const l of fx.lines) {
        ledger.push({ portfolioId: order.portfolioId, kind: l.kind, amount: toDb(l.amount), currency: pb.currency, orderId, fillId: fill.id, description: l.description });
      }
      pb.events.push(...fx.events);
      applied++;
    }
    touchedOrders.set(orderId, order);
  }

  const outbox = [...books.entries()].flatMap(([pid, pb]) => outboxRows(pid, pb.first, pb.events, now));
  const changedBooks = [...books.entries()].filter(([, pb]) => pb.events.length > 0);
  const orderValues = [...touchedOrders.values()].map((o) => ({
    id: o.id,
    status: o.status,
    boid: o.brokerOrderId,
    fq: o.filledQuantity,
    afp: o.averageFillPrice,
    fees: o.feesPaid,
    closed: o.closedAt ? o.closedAt.toISOString() : null,
  }));
  const positionValues = [...touchedPositions.values()].map((p) => ({ pid: p.portfolioId, iid: p.instrumentId, q: p.quantity, avg: p.averageCost, pnl: p.realizedPnl, at: p.updatedAt.toISOString() }));
  const bookMoves = changedBooks.map(([pid, pb]) => ({ portfolioId: pid, events: pb.events.length }));
  const holdValues = [...touchedHolds.entries()].map(([id, h]) => ({ id, amount: toDb(h.amount), rel: h.releasedAt ? iso : null }));
  // Every statement's text is the same whatever the batch (rows as one jsonb parameter: db/batch-sql.ts). The
  // writes of the books are ONE statement (data-modifying CTEs, each over its own rows; an empty list writes
  // nothing; cash, the ledger and the event sequences through ledger.ts, their one writer), pipelined with the
  // outbox rows: two statements where they were six.
  const [, stored] = await Promise.all([
    tx.execute(sql`with ${ledgerCtes(ledger, bookMoves, now)},
      o as (update orders as o set status = v.status::order_status, broker_order_id = v.boid, filled_quantity = v.fq, average_fill_price = v.afp,
          fees_paid = v.fees, updated_at = ${iso}::timestamptz, closed_at = v.closed
        from jsonb_to_recordset(${jsonRows(orderValues)}) as v(id uuid, status text, boid text, fq numeric, afp numeric, fees numeric, closed timestamptz)
        where o.id = v.id
        returning 1),
      pos as (insert into positions (portfolio_id, instrument_id, quantity, average_cost, realized_pnl, updated_at)
        select v.pid, v.iid, v.q, v.avg, v.pnl, v.at
        from jsonb_to_recordset(${jsonRows(positionValues)}) as v(pid uuid, iid uuid, q numeric, avg numeric, pnl numeric, at timestamptz)
        on conflict (portfolio_id, instrument_id) do update set quantity = excluded.quantity, average_cost = excluded.average_cost,
          realized_pnl = excluded.realized_pnl, updated_at = excluded.updated_at
        returning 1),
      h as (update holds as h set amount = v.amount, released_at = v.rel, updated_at = ${iso}::timestamptz
        from jsonb_to_recordset(${jsonRows(holdValues)}) as v(id uuid, amount numeric, rel timestamptz) where h.id = v.id
        returning 1)
      select (select count(*) from o) + (select count(*) from pos) + (select count(*) from ledger_lines) + (select count(*) from h) + (select count(*) from ledger_books) as n`),
    insertOutboxRows(tx, outbox, now),
  ]);
  const idOf = new Map(stored.map((r) => [`${r.portfolioId}/${r.sequence}`, r]));
  const events = changedBooks.flatMap(([pid, pb]) =>
    storedEvents(
      pid,
      pb.events.map((_, i) => idOf.get(`${pid}/${pb.first + i}`)!),
      pb.events,
      now,
    ),
  );
  const given = new Set<string>();
  const result = items.map((it) => {
    const o = touchedOrders.get(it.seen.id);
    if (!o || given.has(it.seen.id) || acking.get(it.seen.id) !== it) return null;
    given.add(it.seen.id);
    return o;
  });
  return { orders: result, events, fills: applied };
}

/**
 * Group commit of the submit jobs' last step: the acknowledgements (with the paper exchange's
 * immediate fills) of the jobs a worker runs at once, in one transaction. If a batch fails (a
 * deadlock, an overfill, ...), each of its orders is retried alone through
 * {@link FillApplier.acknowledge}, so one bad order only fails its own job.
 */
export class AckBatcher {
  private readonly group: GroupCommit<AckItem, OrderRow | null>;

  constructor(
    private readonly deps: { db: Db; clock: Clock; relay: Pick<OutboxRelay, 'published'>; logger: Logger; metrics?: OrderMetrics; single: FillApplier },
    opts: { maxBatch: number; maxInFlight: number } = ORDER_LOOP_BATCHING,
  ) {
    this.group = new GroupCommit((batch) => this.commit(batch), opts);
  }

  /** As {@link FillApplier.acknowledge}: the moved order, or null (nothing written) if no longer SUBMITTING. */
  async acknowledge(seen: OrderRow, brokerOrderId: string, executions: BrokerFill[]): Promise<OrderRow | null> {
    for (const f of executions) checkFill(seen.id, f);
    const item: AckItem = { seen, brokerOrderId, executions };
    try {
      return await this.group.push(item);
    } catch (err) {
      this.deps.logger.debug({ err, orderId: seen.id }, 'batched acknowledgement failed; acknowledging the order alone');
      return this.deps.single.acknowledge(seen, brokerOrderId, executions);
    }
  }

  private async commit(batch: AckItem[]): Promise<(OrderRow | null)[]> {
    const now = this.deps.clock.now();
    const res = await this.deps.db.transaction((tx) => acknowledgeManyInTx(tx, batch, now));
    // What was written with the acknowledgement is no longer the caller's to enqueue.
    batch.forEach((it, i) => {
      if (res.orders[i]) it.executions.length = 0;
    });
    if (res.fills) this.deps.metrics?.orderEvent('fill', res.fills);
    // Published after the commit as before, but not inside the batch's slot: the next batch need not wait
    // for the Redis round trip (this process's publishes go out in order; a failed one is the poller's).
    void this.deps.relay.published(res.events);
    return res.orders;
  }
}
