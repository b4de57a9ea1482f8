import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { fills, holds, orders, portfolios, positions } from '../../db/schema/index.js';
import { postLedgerMany } from '../ledger.js';
import type { Clock } from '../../lib/clock.js';
import { dec, toDb } from '../../lib/decimal.js';
import type { BrokerFill } from '../../brokers/broker.js';
import { appendEvents, insertOutboxRows, lockPortfolio, outboxRows, storedEvents, type NewEvent, type OutboxRelay, type StoredEvent } from '../../events/outbox.js';
import type { OrderMetrics } from './order-metrics.js';
import { orderSnapshot, type OrderRow } from './order.snapshot.js';
import { checkFill, fillEffects } from './fill-math.js';
import { PermanentError } from '../../errors.js';

/** Applies one broker execution to the books: the heart of apply-fill. */
export class FillApplier {
  constructor(private readonly deps: { db: Db; clock: Clock; relay: Pick<OutboxRelay, 'published'>; metrics?: OrderMetrics }) {}

  /**
   * apply-fill, in ONE transaction: insert the fill (unique per order and broker fill id, so a replay
   * is a no-op), update the order's filled quantity, average price and status, the position, the cash
   * ledger (trade and fee), release the matching part of the hold, and write the events.
   */
  async apply(orderId: string, f: BrokerFill): Promise<boolean> {
    const [o0] = await this.deps.db.select().from(orders).where(eq(orders.id, orderId)).limit(1);
    if (!o0) throw new PermanentError(`fill for unknown order ${orderId}`);
    checkFill(orderId, f);
    const now = this.deps.clock.now();
    const res = await this.deps.db.transaction((tx: Tx) => this.applyInTx(tx, o0, f, now));
    if (!res) return false;
    this.deps.metrics?.orderEvent('fill');
    await this.deps.relay.published(res.events);
    return true;
  }

  /**
   * The order's acknowledgement and the executions the broker reported with it, in ONE transaction:
   * SUBMITTING → OPEN with the broker's order id, folded into the first fill's writes, then each further
   * fill as {@link apply} would. A marketable order thus goes SUBMITTING → OPEN → FILLED in one commit,
   * with the same events as before. Null (nothing written) if the order was no longer SUBMITTING. The
   * executions written are removed from `executions`; any left there are the caller's to enqueue.
   */
  async acknowledge(seen: OrderRow, brokerOrderId: string, executions: BrokerFill[]): Promise<OrderRow | null> {
    for (const f of executions) checkFill(seen.id, f);
    const now = this.deps.clock.now();
    if (executions.length === 0) return this.acknowledgeOnly(seen, brokerOrderId, now);
    let res: { order: OrderRow; events: StoredEvent[] } | null;
    try {
      res = await this.deps.db.transaction(async (tx: Tx) => {
        const first = await this.applyInTx(tx, seen, executions[0], now, brokerOrderId);
        // Not SUBMITTING any more, or the first fill was applied already: undo, and acknowledge alone.
        if (!first) throw new NotFoldable();
        const events = [...first.events];
        let order = first.order;
        for (const f of executions.slice(1)) {
          const r = await this.applyInTx(tx, seen, f, now);
          if (!r) continue;
          events.push(...r.events);
          order = r.order;
        }
        return { order, events };
      });
    } catch (err) {
      if (!(err instanceof NotFoldable)) throw err;
      return this.acknowledgeOnly(seen, brokerOrderId, now);
    }
    if (!res) return null;
    this.deps.metrics?.orderEvent('fill', res.events.filter((e) => e.message.type === 'FILL_RECEIVED').length);
    executions.length = 0;
    await this.deps.relay.published(res.events);
    return res.order;
  }

  /** SUBMITTING → OPEN (guarded) with the broker's order id, and its event. */
  private async acknowledgeOnly(seen: OrderRow, brokerOrderId: string, now: Date): Promise<OrderRow | null> {
    const res = await this.deps.db.transaction(async (tx: Tx) => {
      const [, [u]] = await Promise.all([
        lockPortfolio(tx, seen.portfolioId),
        tx
          .update(orders)
          .set({ status: 'OPEN', brokerOrderId, updatedAt: now })
          .where(and(eq(orders.id, seen.id), eq(orders.status, 'SUBMITTING')))
          .returning(),
      ]);
      if (!u) return null;
      return { order: u, events: await appendEvents(tx, seen.portfolioId, [{ type: 'ORDER_UPDATED', payload: { order: orderSnapshot(u) } }], now) };
    });
    if (!res) return null;
    await this.deps.relay.published(res.events);
    return res.order;
  }

  /**
   * One execution applied in the caller's transaction (which may already hold the portfolio lock).
   * Null if it was applied before (a replay) or the portfolio is gone. With `acknowledgedAs` (the
   * broker's order id) the order must be SUBMITTING, and moves to OPEN in the same writes (else null).
   */
  async applyInTx(
    tx: Tx,
    o0: Pick<OrderRow, 'id' | 'portfolioId' | 'instrumentId'>,
    f: BrokerFill,
    now: Date,
    acknowledgedAs?: string,
  ): Promise<{ order: OrderRow; events: StoredEvent[] } | null> {
    const orderId = o0.id;
    const pid = o0.portfolioId;
    // Two round trips, each a pipeline of statements: read and lock everything, then write everything.
    // The portfolio lock is first in the pipeline, so it is taken before anything else is touched.
    const [[p], [fill], [o1], [pos], [hold], [held]] = await Promise.all([
      tx.select().from(portfolios).where(eq(portfolios.id, pid)).for('no key update'),
      tx
        .insert(fills)
        .values({
          orderId,
          portfolioId: pid,
          brokerFillId: f.brokerFillId,
          quantity: toDb(f.quantity),
          price: toDb(f.price),
          fee: toDb(f.fee),
          executedAt: new Date(f.executedAt),
          createdAt: now,
        })
        .onConflictDoNothing({ target: [fills.orderId, fills.brokerFillId] })
        .returning(),
      tx.select().from(orders).where(eq(orders.id, orderId)).for('update'),
      tx
        .select()
        .from(positions)
        .where(and(eq(positions.portfolioId, pid), eq(positions.instrumentId, o0.instrumentId)))
        .for('update'),
      tx.select().from(holds).where(and(eq(holds.orderId, orderId), isNull(holds.releasedAt))),
      tx
        .select({ total: sql<string>`coalesce(sum(${holds.amount}), 0)` })
        .from(holds)
        .where(and(eq(holds.portfolioId, pid), eq(holds.kind, 'CASH'), isNull(holds.releasedAt))),
    ]);
    let o: OrderRow = o1;
    if (!p || !fill) return null; // no portfolio, or this fill was applied already (a replay)
    // The acknowledgement folded in: the order is locked (FOR UPDATE above), so its status is current.
    if (acknowledgedAs !== undefined && o.status !== 'SUBMITTING') return null;
    const acked: OrderRow | null = acknowledgedAs === undefined ? null : { ...o, status: 'OPEN', brokerOrderId: acknowledgedAs, updatedAt: now };
    if (acked) o = acked;

    const fx = fillEffects({ order: o, position: pos ?? null, cash: dec(p.cash), heldTotal: dec(held.total), hold: hold ?? null }, f, fill, now);
    const { orderSet, position, lines, holdLeft } = fx;
    const posValues = { quantity: position.quantity, averageCost: position.averageCost, realizedPnl: position.realizedPnl, updatedAt: now };
    const order = fx.order;
    const events: NewEvent[] = [...(acked ? [{ type: 'ORDER_UPDATED' as const, payload: { order: orderSnapshot(acked) } }] : []), ...fx.events];
    const firstSeq = p.eventSequence + 1;
    const writes = await Promise.all([
      tx.update(orders).set(orderSet).where(eq(orders.id, orderId)),
      tx
        .insert(positions)
        .values(position)
        .onConflictDoUpdate({ target: [positions.portfolioId, positions.instrumentId], set: posValues }),
      // Cash and the ledger (ledger.ts, their one writer), with the event sequence in the same update.
      postLedgerMany(
        tx,
        lines.map((l) => ({ portfolioId: pid, kind: l.kind, amount: toDb(l.amount), currency: p.baseCurrency, orderId, fillId: fill.id, description: l.description })),
        [{ portfolioId: pid, events: events.length }],
        now,
      ),
      hold && holdLeft
        ? tx
            .update(holds)
            .set({ amount: toDb(holdLeft), releasedAt: holdLeft.isZero() ? now : null, updatedAt: now })
            .where(eq(holds.id, hold.id))
        : Promise.resolve(),
      insertOutboxRows(tx, outboxRows(pid, firstSeq, events, now), now),
    ]);
    return { order, events: storedEvents(pid, writes[4], events, now) };
  }
}

/** The acknowledgement could not be folded into the first fill's transaction. */
class NotFoldable extends Error {}

