/**
 * The batched fill applier's pure core: what many child fills do to the books, computed in memory from
 * the rows read (and locked) once, with exactly the rules of FillApplier.applyInTx applied one fill
 * after another (so two children of one portfolio see each other's cash, position, held cash and event
 * sequence as they would one transaction after the other). The writer (batch-fill.ts) turns the plan
 * into a few multi-row statements.
 */
import { fills, holds, positions } from '../../db/schema/index.js';
import { dec, fmt, toDb, Decimal } from '../../lib/decimal.js';
import { UnrecoverableJobError } from '../../jobs/queue.js';
import type { NewEvent } from '../../events/outbox.js';
import { statusAfterFill, type OrderStatus } from '../orders/order.state.js';
import { fillSnapshot, orderSnapshot, type OrderRow } from '../orders/order.snapshot.js';

export type FillRow = typeof fills.$inferSelect;
export type HoldRow = typeof holds.$inferSelect;
export type PositionRow = typeof positions.$inferSelect;
type OrderSet = Pick<OrderRow, 'filledQuantity' | 'averageFillPrice' | 'feesPaid' | 'status' | 'brokerOrderId' | 'updatedAt' | 'closedAt'>;

/** One child's execution: the child's share of a parent fill. */
export interface ChildShare {
  orderId: string;
  brokerFillId: string;
  brokerOrderId: string;
  quantity: Decimal;
  price: Decimal;
  fee: Decimal;
  executedAt: Date;
}

/** The rows the batch touches, read under the portfolios' locks. */
export interface BatchState {
  portfolios: Map<string, { cash: string; eventSequence: number; baseCurrency: string }>;
  orders: Map<string, OrderRow>;
  /** By `${portfolioId}:${instrumentId}`. */
  positions: Map<string, PositionRow>;
  /** The order's unreleased hold, by order id. */
  holds: Map<string, HoldRow>;
  /** Σ unreleased CASH holds per portfolio. */
  heldCash: Map<string, Decimal>;
}

export interface PlannedEvent {
  portfolioId: string;
  sequence: number;
  event: NewEvent;
}

export interface BatchPlan {
  orders: Map<string, OrderSet>;
  positions: Map<string, typeof positions.$inferInsert & { portfolioId: string; instrumentId: string }>;
  ledger: { portfolioId: string; kind: 'TRADE' | 'FEE'; amount: string; currency: string; orderId: string; fillId: string; description: string; createdAt: Date }[];
  /** Per portfolio: cash delta and number of events. */
  portfolios: Map<string, { delta: Decimal; events: number }>;
  holds: Map<string, { amount: string; releasedAt: Date | null }>;
  events: PlannedEvent[];
}

export const positionKey = (portfolioId: string, instrumentId: string) => `${portfolioId}:${instrumentId}`;

/** The books after `shares` (each with its inserted fill row), applied in order. Mutates nothing given. */
export function planBatch(shares: { share: ChildShare; fill: FillRow }[], state: BatchState, now: Date): BatchPlan {
  const cur = {
    orders: new Map(state.orders),
    positions: new Map(state.positions),
    holds: new Map(state.holds),
    cash: new Map([...state.portfolios].map(([id, p]) => [id, dec(p.cash)])),
    seq: new Map([...state.portfolios].map(([id, p]) => [id, p.eventSequence])),
    held: new Map(state.heldCash),
  };
  const plan: BatchPlan = { orders: new Map(), positions: new Map(), ledger: [], portfolios: new Map(), holds: new Map(), events: [] };

  for (const { share: f, fill } of shares) {
    const o = cur.orders.get(f.orderId);
    if (!o) throw new UnrecoverableJobError(`fill for unknown order ${f.orderId}`);
    const pid = o.portfolioId;
    const p = state.portfolios.get(pid);
    if (!p) throw new UnrecoverableJobError(`portfolio ${pid} of order ${o.id} is gone`);
    const qty = f.quantity;
    const price = f.price;
    const fee = f.fee;

    // The order: filled quantity, average price, fees, status.
    const filledBefore = dec(o.filledQuantity);
    const filled = filledBefore.add(qty);
    if (filled.gt(o.quantity)) throw new UnrecoverableJobError(`fill ${f.brokerFillId} overfills order ${o.id}`);
    const complete = filled.eq(o.quantity);
    const status = statusAfterFill(o.status as OrderStatus, { isComplete: complete });
    const avg = dec(o.averageFillPrice ?? 0).mul(filledBefore).add(price.mul(qty)).div(filled).toDecimalPlaces(8);
    const orderSet: OrderSet = {
      filledQuantity: toDb(filled),
      averageFillPrice: toDb(avg),
      feesPaid: toDb(dec(o.feesPaid).add(fee)),
      status,
      brokerOrderId: o.brokerOrderId ?? f.brokerOrderId,
      updatedAt: now,
      closedAt: complete ? now : null,
    };
    const order = { ...o, ...orderSet };
    cur.orders.set(o.id, order);
    plan.orders.set(o.id, orderSet);

    // Position: average cost on buys; realised P&L on sells.
    const key = positionKey(pid, o.instrumentId);
    const pos = cur.positions.get(key);
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
    const position = { portfolioId: pid, instrumentId: o.instrumentId, quantity: toDb(q1), averageCost: toDb(avg1), realizedPnl: toDb(realized), updatedAt: now };
    cur.positions.set(key, position);
    plan.positions.set(key, position);

    // Cash: the trade and the fee, as ledger lines.
    const notional = qty.mul(price);
    const lines = [
      { kind: 'TRADE' as const, amount: o.side === 'BUY' ? notional.neg() : notional, description: `${o.side} ${fmt(qty)} @ ${fmt(price)}` },
      { kind: 'FEE' as const, amount: fee.neg(), description: 'broker fee' },
    ].filter((l) => !l.amount.isZero());
    const delta = lines.reduce((acc, l) => acc.add(l.amount), dec(0));
    const cash = cur.cash.get(pid)!.add(delta);
    cur.cash.set(pid, cash);
    for (const l of lines) {
      plan.ledger.push({ portfolioId: pid, kind: l.kind, amount: toDb(l.amount), currency: p.baseCurrency, orderId: o.id, fillId: fill.id, description: l.description, createdAt: now });
    }

    // The hold: released in proportion to what filled; all of it once the order is complete.
    const hold = cur.holds.get(o.id);
    let cashReleased = dec(0);
    if (hold) {
      const amount = dec(hold.amount);
      const remainingQty = dec(o.quantity).sub(filledBefore);
      const release = complete
        ? amount
        : o.side === 'SELL'
          ? Decimal.min(amount, qty)
          : amount.mul(qty).div(remainingQty).toDecimalPlaces(8, Decimal.ROUND_DOWN);
      const left = amount.sub(release);
      if (hold.kind === 'CASH') cashReleased = release;
      const set = { amount: toDb(left), releasedAt: left.isZero() ? now : null };
      plan.holds.set(hold.id, set);
      if (left.isZero()) cur.holds.delete(o.id);
      else cur.holds.set(o.id, { ...hold, ...set, updatedAt: now });
    }
    const held = cur.held.get(pid) ?? dec(0);
    const available = cash.sub(held.sub(cashReleased));
    cur.held.set(pid, held.sub(cashReleased));

    const events: NewEvent[] = [
      { type: 'FILL_RECEIVED', payload: { fill: fillSnapshot(fill), order: orderSnapshot(order) } },
      { type: 'ORDER_UPDATED', payload: { order: orderSnapshot(order) } },
      { type: 'POSITION_CHANGED', payload: { position: { ...position, updatedAt: now.toISOString() } } },
      { type: 'BALANCE_CHANGED', payload: { cash: fmt(cash, 2), availableCash: fmt(available, 2), reason: 'FILL' } },
    ];
    const first = cur.seq.get(pid)! + 1;
    cur.seq.set(pid, first + events.length - 1);
    events.forEach((event, i) => plan.events.push({ portfolioId: pid, sequence: first + i, event }));
    const acc = plan.portfolios.get(pid) ?? { delta: dec(0), events: 0 };
    plan.portfolios.set(pid, { delta: acc.delta.add(delta), events: acc.events + events.length });
  }
  return plan;
}

/** The fill rows to insert for `shares` (one per child share). */
export function fillValues(shares: ChildShare[], state: BatchState, now: Date): (typeof fills.$inferInsert)[] {
  return shares.map((f) => ({
    orderId: f.orderId,
    portfolioId: state.orders.get(f.orderId)!.portfolioId,
    brokerFillId: f.brokerFillId,
    quantity: toDb(f.quantity),
    price: toDb(f.price),
    fee: toDb(f.fee),
    executedAt: f.executedAt,
    createdAt: now,
  }));
}

export type { OrderSet };
