import { dec, fmt, toDb, Decimal, fmtAvailable } from '../../lib/decimal.js';
import type { BrokerFill } from '../../brokers/broker.js';
import type { NewEvent } from '../../events/outbox.js';
import { statusAfterFill, type OrderStatus } from './order.state.js';
import { fillSnapshot, orderSnapshot, type FillRow, type OrderRow } from './order.snapshot.js';
import { PermanentError } from '../../errors.js';
import { AVERAGE_COST_PLACES } from '../../db/schema/common.js';

/** What one execution finds on the books (the rows as locked, or as earlier fills of the same transaction left them). */
export interface FillBooks {
  order: OrderRow;
  position: { quantity: string; averageCost: string; realizedPnl: string } | null;
  /** The portfolio's cash before this fill. */
  cash: Decimal;
  /** The portfolio's open CASH holds, in total, before this fill's release. */
  heldTotal: Decimal;
  /** The order's open hold, if any. */
  hold: { id: string; kind: 'CASH' | 'QUANTITY'; amount: string } | null;
}

export interface FillEffects {
  order: OrderRow;
  orderSet: Pick<OrderRow, 'filledQuantity' | 'averageFillPrice' | 'feesPaid' | 'status' | 'brokerOrderId' | 'updatedAt' | 'closedAt'>;
  position: { portfolioId: string; instrumentId: string; quantity: string; averageCost: string; realizedPnl: string; updatedAt: Date };
  /** Ledger lines (trade and fee), non-zero only. */
  lines: { kind: 'TRADE' | 'FEE'; amount: Decimal; description: string }[];
  /** Cash after: the cash before plus the sum of the lines (ledger.ts posts them; this is for the events and checks). */
  cash: Decimal;
  /** What is left of the hold (null: the order has none). */
  holdLeft: Decimal | null;
  cashReleased: Decimal;
  /** FILL_RECEIVED, ORDER_UPDATED, POSITION_CHANGED, BALANCE_CHANGED. */
  events: NewEvent[];
}

/**
 * The pure part of applying one execution (shared by the single-fill path and the batched
 * acknowledgement): the order's filled quantity, average price, fees and status; the position's
 * quantity, average cost and realised P&L; the ledger lines; the hold's release; the events.
 * `notional`, when given, is the cash the TRADE line moves instead of quantity × price: a pooled
 * child's share of its execution's value rounded to the currency's smallest unit (allocation.ts
 * `allocateNotional`), within one unit of quantity × price.
 */
export function fillEffects(b: FillBooks, f: BrokerFill, fill: FillRow, now: Date, notional?: Decimal): FillEffects {
  const o = b.order;
  const qty = dec(f.quantity);
  const price = dec(f.price);
  const fee = dec(f.fee);

  // The order: filled quantity, average price, fees, status.
  const filledBefore = dec(o.filledQuantity);
  const filled = filledBefore.add(qty);
  if (filled.gt(o.quantity)) throw new PermanentError(`fill ${f.brokerFillId} overfills order ${o.id}`);
  const complete = filled.eq(o.quantity);
  const status = statusAfterFill(o.status as OrderStatus, { isComplete: complete });
  const avg = dec(o.averageFillPrice ?? 0).mul(filledBefore).add(price.mul(qty)).div(filled).toDecimalPlaces(8);
  const orderSet = {
    filledQuantity: toDb(filled),
    averageFillPrice: toDb(avg),
    feesPaid: toDb(dec(o.feesPaid).add(fee)),
    status,
    brokerOrderId: o.brokerOrderId ?? f.brokerOrderId,
    updatedAt: now,
    closedAt: complete ? now : null,
  };
  const order = { ...o, ...orderSet } as OrderRow;

  // Position: average cost on buys; realised P&L on sells (fees are ledger lines of their own).
  const pos = b.position;
  const q0 = dec(pos?.quantity ?? 0);
  const avg0 = dec(pos?.averageCost ?? 0);
  let q1: Decimal;
  let avg1 = avg0;
  let realized = dec(pos?.realizedPnl ?? 0);
  if (o.side === 'BUY') {
    q1 = q0.add(qty);
    avg1 = q0.mul(avg0).add(qty.mul(price)).div(q1).toDecimalPlaces(AVERAGE_COST_PLACES);
  } else {
    q1 = q0.sub(qty);
    // Money is kept to 8 places; the average's 16 make this exact wherever the true figure has 8 or fewer.
    realized = realized.add(price.sub(avg0).mul(qty)).toDecimalPlaces(8);
    if (q1.isZero()) avg1 = dec(0);
  }
  const position = {
    portfolioId: o.portfolioId,
    instrumentId: o.instrumentId,
    quantity: toDb(q1),
    averageCost: toDb(avg1),
    realizedPnl: toDb(realized),
    updatedAt: now,
  };

  // Cash: the trade and the fee, as ledger lines; the portfolio's cash moves by their sum.
  const value = notional ?? qty.mul(price);
  const lines = [
    { kind: 'TRADE' as const, amount: o.side === 'BUY' ? value.neg() : value, description: `${o.side} ${fmt(qty)} @ ${fmt(price)}` },
    { kind: 'FEE' as const, amount: fee.neg(), description: 'broker fee' },
  ].filter((l) => !l.amount.isZero());
  const cash = lines.reduce((acc, l) => acc.add(l.amount), b.cash);

  // The hold: released in proportion to what filled; all of it once the order is complete.
  let holdLeft: Decimal | null = null;
  let cashReleased = dec(0);
  if (b.hold) {
    const amount = dec(b.hold.amount);
    const remainingQty = dec(o.quantity).sub(filledBefore);
    const release = complete
      ? amount
      : o.side === 'SELL'
        ? Decimal.min(amount, qty)
        : amount.mul(qty).div(remainingQty).toDecimalPlaces(8, Decimal.ROUND_DOWN);
    holdLeft = amount.sub(release);
    if (b.hold.kind === 'CASH') cashReleased = release;
  }
  const available = cash.sub(b.heldTotal.sub(cashReleased));

  // One snapshot object for both events (read-only once built): the batched writer sends it once.
  const snapshot = orderSnapshot(order);
  const events: NewEvent[] = [
    { type: 'FILL_RECEIVED', payload: { fill: fillSnapshot(fill), order: snapshot } },
    { type: 'ORDER_UPDATED', payload: { order: snapshot } },
    { type: 'POSITION_CHANGED', payload: { position: { ...position, updatedAt: now.toISOString() } } },
    { type: 'BALANCE_CHANGED', payload: { cash: fmt(cash, 2), availableCash: fmtAvailable(available), reason: 'FILL' } },
  ];
  return { order, orderSet, position, lines, cash, holdLeft, cashReleased, events };
}

/**
 * An adapter is a trust boundary: a zero or negative quantity would shrink filledQuantity and the
 * position and credit cash (or divide by zero in the averages); a non-positive price is no trade.
 */
export function checkFill(orderId: string, f: BrokerFill): void {
  const fq = dec(f.quantity);
  const fp = dec(f.price);
  if (!fq.isFinite() || fq.lte(0) || !fp.isFinite() || fp.lte(0) || !dec(f.fee).isFinite()) {
    throw new PermanentError(`fill ${f.brokerFillId} of order ${orderId} has a non-positive quantity or price`);
  }
}
