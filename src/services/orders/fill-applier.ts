import { and, eq, isNull } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { fills, holds, orders, positions } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { dec, fmt, toDb, Decimal } from '../../lib/decimal.js';
import type { BrokerFill } from '../../brokers/broker.js';
import { appendEvents, lockPortfolio, type NewEvent, type OutboxRelay } from '../../events/outbox.js';
import { UnrecoverableJobError } from '../../jobs/queue.js';
import type { Metrics } from '../../server/metrics.js';
import { balances, postLedger, reduceHold } from '../ledger.js';
import { statusAfterFill, type OrderStatus } from './order.state.js';
import { fillSnapshot, orderSnapshot } from './order.snapshot.js';

/** Applies one broker execution to the books: the heart of apply-fill. */
export class FillApplier {
  constructor(private readonly deps: { db: Db; clock: Clock; relay: OutboxRelay; metrics?: Metrics }) {}

  /**
   * apply-fill, in ONE transaction: insert the fill (unique per order and broker fill id, so a replay
   * is a no-op), update the order's filled quantity, average price and status, the position, the cash
   * ledger (trade and fee), release the matching part of the hold, and write the events.
   */
  async apply(orderId: string, f: BrokerFill): Promise<boolean> {
    const [o0] = await this.deps.db.select().from(orders).where(eq(orders.id, orderId)).limit(1);
    if (!o0) throw new UnrecoverableJobError(`fill for unknown order ${orderId}`);
    // An adapter is a trust boundary: a zero or negative quantity would shrink filledQuantity and the
    // position and credit cash (or divide by zero in the averages); a non-positive price is no trade.
    const fq = dec(f.quantity);
    const fp = dec(f.price);
    if (!fq.isFinite() || fq.lte(0) || !fp.isFinite() || fp.lte(0) || !dec(f.fee).isFinite()) {
      throw new UnrecoverableJobError(`fill ${f.brokerFillId} of order ${orderId} has a non-positive quantity or price`);
    }
    const now = this.deps.clock.now();
    const res = await this.deps.db.transaction(async (tx: Tx) => {
      const p = await lockPortfolio(tx, o0.portfolioId);
      if (!p) return null;
      const [fill] = await tx
        .insert(fills)
        .values({
          orderId,
          portfolioId: o0.portfolioId,
          brokerFillId: f.brokerFillId,
          quantity: toDb(f.quantity),
          price: toDb(f.price),
          fee: toDb(f.fee),
          executedAt: new Date(f.executedAt),
          createdAt: now,
        })
        .onConflictDoNothing({ target: [fills.orderId, fills.brokerFillId] })
        .returning();
      if (!fill) return null; // already applied
      const [o] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update');
      const qty = dec(f.quantity);
      const price = dec(f.price);
      const fee = dec(f.fee);
      const filledBefore = dec(o.filledQuantity);
      const filled = filledBefore.add(qty);
      if (filled.gt(o.quantity)) throw new UnrecoverableJobError(`fill ${f.brokerFillId} overfills order ${orderId}`);
      const complete = filled.eq(o.quantity);
      const status = statusAfterFill(o.status as OrderStatus, { isComplete: complete });
      const avg = dec(o.averageFillPrice ?? 0).mul(filledBefore).add(price.mul(qty)).div(filled).toDecimalPlaces(8);
      const [order] = await tx
        .update(orders)
        .set({
          filledQuantity: toDb(filled),
          averageFillPrice: toDb(avg),
          feesPaid: toDb(dec(o.feesPaid).add(fee)),
          status,
          brokerOrderId: o.brokerOrderId ?? f.brokerOrderId,
          updatedAt: now,
          closedAt: complete ? now : null,
        })
        .where(eq(orders.id, orderId))
        .returning();

      // Position: average cost on buys; realised P&L on sells (fees are ledger lines of their own).
      const [pos] = await tx
        .select()
        .from(positions)
        .where(and(eq(positions.portfolioId, o.portfolioId), eq(positions.instrumentId, o.instrumentId)))
        .for('update');
      const q0 = dec(pos?.quantity ?? 0);
      const avg0 = dec(pos?.averageCost ?? 0);
      let q1: Decimal;
      let avg1 = avg0;
      let realized = dec(pos?.realizedPnl ?? 0);
      if (o.side === 'BUY') {
        q1 = q0.add(qty);
        avg1 = q0.mul(avg0).add(qty.mul(price)).div(q1).toDecimalPlaces(8);
      } else {
        q1 = q0.sub(qty);
        realized = realized.add(price.sub(avg0).mul(qty));
        if (q1.isZero()) avg1 = dec(0);
      }
      const posValues = { quantity: toDb(q1), averageCost: toDb(avg1), realizedPnl: toDb(realized), updatedAt: now };
      const [position] = await tx
        .insert(positions)
        .values({ portfolioId: o.portfolioId, instrumentId: o.instrumentId, ...posValues })
        .onConflictDoUpdate({ target: [positions.portfolioId, positions.instrumentId], set: posValues })
        .returning();

      const notional = qty.mul(price);
      const cash = await postLedger(
        tx,
        o.portfolioId,
        p.baseCurrency,
        [
          { kind: 'TRADE', amount: o.side === 'BUY' ? notional.neg() : notional, orderId, fillId: fill.id, description: `${o.side} ${fmt(qty)} @ ${fmt(price)}` },
          { kind: 'FEE', amount: fee.neg(), orderId, fillId: fill.id, description: 'broker fee' },
        ],
        now,
      );
      // Release the hold in proportion to what filled; all of it once the order is complete.
      const remainingQty = dec(o.quantity).sub(filledBefore);
      if (complete) await reduceHold(tx, orderId, 'all', now);
      else if (o.side === 'SELL') await reduceHold(tx, orderId, qty, now);
      else await reduceHoldProportionally(tx, orderId, qty, remainingQty, now);

      const b = await balances(tx, o.portfolioId, cash);
      const events: NewEvent[] = [
        { type: 'FILL_RECEIVED', payload: { fill: fillSnapshot(fill), order: orderSnapshot(order) } },
        { type: 'ORDER_UPDATED', payload: { order: orderSnapshot(order) } },
        { type: 'POSITION_CHANGED', payload: { position: { ...position, updatedAt: position.updatedAt.toISOString() } } },
        { type: 'BALANCE_CHANGED', payload: { cash: fmt(b.cash, 2), availableCash: fmt(b.available, 2), reason: 'FILL' } },
      ];
      return appendEvents(tx, o.portfolioId, events, now);
    });
    if (!res) return false;
    this.deps.metrics?.orders.inc({ event: 'fill' });
    await this.deps.relay.published(res);
    return true;
  }
}

/** A buy's cash hold shrinks by the share of the unfilled quantity that just filled. */
async function reduceHoldProportionally(tx: Tx, orderId: string, qty: Decimal, remainingQty: Decimal, now: Date): Promise<void> {
  const [h] = await tx.select().from(holds).where(and(eq(holds.orderId, orderId), isNull(holds.releasedAt)));
  if (!h) return;
  const release = dec(h.amount).mul(qty).div(remainingQty).toDecimalPlaces(8, Decimal.ROUND_DOWN);
  await reduceHold(tx, orderId, release, now);
}

