import { and, asc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { fills, holds, ledgerEntries, orders, outboxEvents, portfolios, positions } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { GroupCommit } from '../../lib/group-commit.js';
import { dec, toDb, type Decimal } from '../../lib/decimal.js';
import type { BrokerFill } from '../../brokers/broker.js';
import { outboxRows, storedEvents, type NewEvent, type OutboxRelay, type StoredEvent } from '../../events/outbox.js';
import type { Metrics } from '../../server/metrics.js';
import { checkFill, fillEffects, type FillBooks } from './fill-math.js';
import { orderSnapshot, type FillRow, type OrderRow } from './order.snapshot.js';
import type { FillApplier } from './fill-applier.js';

export interface AckItem {
  seen: OrderRow;
  brokerOrderId: string;
  /** Executions the broker reported while placing the order; those written are removed. */
  executions: BrokerFill[];
}

type PortfolioBooks = { cash: Decimal; delta: Decimal; heldTotal: Decimal; sequence: number; first: number; currency: string; events: NewEvent[] };

/**
 * Many acknowledgements, and the executions reported with them, in ONE transaction with set-based
 * statements: the portfolios locked in id order, then the orders, positions and holds read (and
 * locked) in one pipeline; the fills inserted in one statement (unique per order and broker fill id,
 * so a replay is skipped); then one statement each for the orders, positions, ledger lines, holds,
 * portfolios (cash and event sequence) and outbox rows. Per portfolio the events are numbered from its
 * locked sequence, so sequences stay gap-free. Each order whose row is no longer SUBMITTING gets null
 * and nothing of it is written (as {@link FillApplier.acknowledge}).
 */
export async function acknowledgeManyInTx(tx: Tx, items: AckItem[], now: Date): Promise<{ orders: (OrderRow | null)[]; events: StoredEvent[]; fills: number }> {
  const ids = [...new Set(items.map((i) => i.seen.id))];
  const pids = [...new Set(items.map((i) => i.seen.portfolioId))].sort();
  const pairs = [...new Map(items.map((i) => [`${i.seen.portfolioId}/${i.seen.instrumentId}`, i.seen])).values()];
  // One pipeline: the portfolio locks first (id order), then everything else they guard.
  const [lockedP, lockedO, posRows, holdRows, heldRows] = await Promise.all([
    tx.select().from(portfolios).where(inArray(portfolios.id, pids)).orderBy(asc(portfolios.id)).for('update'),
    tx.select().from(orders).where(inArray(orders.id, ids)).orderBy(asc(orders.id)).for('update'),
    tx
      .select()
      .from(positions)
      .where(or(...pairs.map((o) => and(eq(positions.portfolioId, o.portfolioId), eq(positions.instrumentId, o.instrumentId)))))
      .for('update'),
    tx.select().from(holds).where(and(inArray(holds.orderId, ids), isNull(holds.releasedAt))),
    tx
      .select({ portfolioId: holds.portfolioId, total: sql<string>`coalesce(sum(${holds.amount}), 0)` })
      .from(holds)
      .where(and(inArray(holds.portfolioId, pids), eq(holds.kind, 'CASH'), isNull(holds.releasedAt)))
      .groupBy(holds.portfolioId),
  ]);
  const held = new Map(heldRows.map((h) => [h.portfolioId, dec(h.total)]));
  const books = new Map<string, PortfolioBooks>(
    lockedP.map((p) => [p.id, { cash: dec(p.cash), delta: dec(0), heldTotal: held.get(p.id) ?? dec(0), sequence: p.eventSequence, first: p.eventSequence + 1, currency: p.baseCurrency, events: [] }]),
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

  const fillValues = [...acking.values()].flatMap((it) =>
    it.executions.map((f) => ({
      orderId: it.seen.id,
      portfolioId: it.seen.portfolioId,
      brokerFillId: f.brokerFillId,
      quantity: toDb(f.quantity),
      price: toDb(f.price),
      fee: toDb(f.fee),
      executedAt: new Date(f.executedAt),
      createdAt: now,
    })),
  );
  const inserted = fillValues.length
    ? await tx.insert(fills).values(fillValues).onConflictDoNothing({ target: [fills.orderId, fills.brokerFillId] }).returning()
    : [];
  const fillByKey = new Map<string, FillRow>(inserted.map((f) => [`${f.orderId}/${f.brokerFillId}`, f]));

  // The books, order by order, each execution as FillApplier.applyInTx would apply it.
  const touchedOrders = new Map<string, OrderRow>();
  const touchedPositions = new Map<string, ReturnType<typeof fillEffects>['position']>();
  const touchedHolds = new Map<string, { amount: Decimal; releasedAt: Date | null }>();
  const ledger: (typeof ledgerEntries.$inferInsert)[] = [];
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
      pb.delta = pb.delta.add(fx.delta);
      pb.heldTotal = pb.heldTotal.sub(fx.cashReleased);
      if (hold && fx.holdLeft) {
        const released = fx.holdLeft.isZero();
        touchedHolds.set(hold.id, { amount: fx.holdLeft, releasedAt: released ? now : null });
        holdByOrder.set(orderId, released ? null : { ...hold, amount: toDb(fx.holdLeft) });
      }
      for (const l of fx.lines) {
        ledger.push({ portfolioId: order.portfolioId, kind: l.kind, amount: toDb(l.amount), currency: pb.currency, orderId, fillId: fill.id, description: l.description, createdAt: now });
      }
      pb.events.push(...fx.events);
      applied++;
    }
    touchedOrders.set(orderId, order);
  }

  const outbox = [...books.entries()].flatMap(([pid, pb]) => outboxRows(pid, pb.first, pb.events, now));
  const changedBooks = [...books.entries()].filter(([, pb]) => pb.events.length > 0);
  const iso = now.toISOString();
  const orderValues = sql.join(
    [...touchedOrders.values()].map(
      (o) =>
        sql`(${o.id}::uuid, ${o.status}::order_status, ${o.brokerOrderId}::text, ${o.filledQuantity}::numeric, ${o.averageFillPrice}::numeric, ${o.feesPaid}::numeric, ${iso}::timestamptz, ${o.closedAt ? o.closedAt.toISOString() : null}::timestamptz)`,
    ),
    sql`, `,
  );
  const bookValues = sql.join(
    changedBooks.map(([pid, pb]) => sql`(${pid}::uuid, ${toDb(pb.delta)}::numeric, ${pb.sequence + pb.events.length}::bigint)`),
    sql`, `,
  );
  const holdValues = sql.join(
    [...touchedHolds.entries()].map(([id, h]) => sql`(${id}::uuid, ${toDb(h.amount)}::numeric, ${h.releasedAt ? iso : null}::timestamptz)`),
    sql`, `,
  );
  const [, , , , , stored] = await Promise.all([
    tx.execute(
      sql`update ${orders} set status = v.status, broker_order_id = v.boid, filled_quantity = v.fq, average_fill_price = v.afp, fees_paid = v.fees, updated_at = v.at, closed_at = v.closed
          from (values ${orderValues}) as v(id, status, boid, fq, afp, fees, at, closed) where ${orders.id} = v.id`,
    ),
    touchedPositions.size
      ? tx
          .insert(positions)
          .values([...touchedPositions.values()])
          .onConflictDoUpdate({
            target: [positions.portfolioId, positions.instrumentId],
            set: { quantity: sql`excluded.quantity`, averageCost: sql`excluded.average_cost`, realizedPnl: sql`excluded.realized_pnl`, updatedAt: sql`excluded.updated_at` },
          })
      : Promise.resolve(),
    ledger.length ? tx.insert(ledgerEntries).values(ledger) : Promise.resolve(),
    touchedHolds.size
      ? tx.execute(sql`update ${holds} set amount = v.amount, released_at = v.rel, updated_at = ${iso}::timestamptz from (values ${holdValues}) as v(id, amount, rel) where ${holds.id} = v.id`)
      : Promise.resolve(),
    tx.execute(
      sql`update ${portfolios} set cash = ${portfolios.cash} + v.delta, event_sequence = v.seq from (values ${bookValues}) as v(id, delta, seq) where ${portfolios.id} = v.id`,
    ),
    tx.insert(outboxEvents).values(outbox).returning({ id: outboxEvents.id, sequence: outboxEvents.sequence, portfolioId: outboxEvents.portfolioId }),
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
    private readonly deps: { db: Db; clock: Clock; relay: OutboxRelay; logger: Logger; metrics?: Metrics; single: FillApplier },
    opts: { maxBatch: number; maxInFlight: number } = { maxBatch: 64, maxInFlight: 2 },
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
    if (res.fills) this.deps.metrics?.orders.inc({ event: 'fill' }, res.fills);
    // Published after the commit as before, but not inside the batch's slot: the next batch need not wait
    // for the Redis round trip (this process's publishes go out in order; a failed one is the poller's).
    void this.deps.relay.published(res.events);
    return res.orders;
  }
}
