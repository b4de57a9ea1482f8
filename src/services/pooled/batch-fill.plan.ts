/**
 * The batched fill applier's pure core: what many child fills do to the books, computed in memory from
 * the rows read (and locked) once, with exactly the rules of FillApplier.applyInTx (the same pure
 * `fillEffects` of orders/fill-math.ts) applied one fill after another (so two children of one portfolio see each other's cash, position, held cash and event
 * sequence as they would one transaction after the other). The writer (batch-fill.ts) turns the plan
 * into a few multi-row statements.
 */
import { fills, holds, positions } from '../../db/schema/index.js';
import { dec, toDb, type Decimal } from '../../lib/decimal.js';
import type { NewEvent } from '../../events/outbox.js';
import { fillEffects } from '../orders/fill-math.js';
import type { OrderRow } from '../orders/order.snapshot.js';
import { PermanentError } from '../../errors.js';
import type { LedgerRow } from '../ledger.js';

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
  /**
   * The cash the child's TRADE line moves, when not exactly quantity × price: its share of the
   * execution's value rounded to the currency's smallest unit (allocation.ts `allocateNotional`).
   */
  notional?: Decimal;
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
  ledger: LedgerRow[];
  /** Per portfolio: the number of its events (its cash moves by its ledger lines: ledger.ts). */
  portfolios: Map<string, { events: number }>;
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
    if (!o) throw new PermanentError(`fill for unknown order ${f.orderId}`);
    const pid = o.portfolioId;
    const p = state.portfolios.get(pid);
    if (!p) throw new PermanentError(`portfolio ${pid} of order ${o.id} is gone`);
    // The order, position, ledger lines, hold release and events: FillApplier's arithmetic (fill-math.ts),
    // on the books as the earlier shares of this batch left them.
    const key = positionKey(pid, o.instrumentId);
    const hold = cur.holds.get(o.id);
    const held = cur.held.get(pid) ?? dec(0);
    const e = fillEffects(
      { order: o, position: cur.positions.get(key) ?? null, cash: cur.cash.get(pid)!, heldTotal: held, hold: hold ?? null },
      { brokerFillId: f.brokerFillId, brokerOrderId: f.brokerOrderId, clientOrderId: o.id, quantity: toDb(f.quantity), price: toDb(f.price), fee: toDb(f.fee), executedAt: f.executedAt.toISOString() },
      fill,
      now,
      f.notional,
    );
    cur.orders.set(o.id, e.order);
    plan.orders.set(o.id, e.orderSet);
    cur.positions.set(key, e.position);
    plan.positions.set(key, e.position);
    cur.cash.set(pid, e.cash);
    for (const l of e.lines) {
      plan.ledger.push({ portfolioId: pid, kind: l.kind, amount: toDb(l.amount), currency: p.baseCurrency, orderId: o.id, fillId: fill.id, description: l.description });
    }
    if (hold && e.holdLeft) {
      const set = { amount: toDb(e.holdLeft), releasedAt: e.holdLeft.isZero() ? now : null };
      plan.holds.set(hold.id, set);
      if (e.holdLeft.isZero()) cur.holds.delete(o.id);
      else cur.holds.set(o.id, { ...hold, ...set, updatedAt: now });
    }
    cur.held.set(pid, held.sub(e.cashReleased));
    const { events } = e;

    const first = cur.seq.get(pid)! + 1;
    cur.seq.set(pid, first + events.length - 1);
    events.forEach((event, i) => plan.events.push({ portfolioId: pid, sequence: first + i, event }));
    plan.portfolios.set(pid, { events: (plan.portfolios.get(pid)?.events ?? 0) + events.length });
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
