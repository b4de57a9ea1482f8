import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { dec, fmt, toDb } from '../../lib/decimal.js';
import type { BrokerFill, BrokerOrder, BrokerOrderRequest, BrokerOrderSide, BrokerOrderStatus, BrokerOrderType } from '../broker.js';
import type { MatchableOrder } from './paper.matching.js';
import { paperFills, paperOrders, type PaperFillRow, type PaperOrderRow } from './paper.schema.js';
import { computeFee, type FeeSchedule } from './fees.js';

/**
 * Row-level operations on the paper order book. Every function runs inside the caller's transaction and
 * every update is guarded by the state it expects, so two processes can never fill an order beyond its
 * quantity or fill it after it was canceled.
 */

/** Statuses in which an order rests on the book and may still trade or be canceled. */
export const OPEN_STATUSES = ['OPEN', 'PARTIALLY_FILLED'] as const;

export function isOpen(status: string): boolean {
  return status === 'OPEN' || status === 'PARTIALLY_FILLED';
}

/** The guarded update lost a race (another process changed the order first); the transaction rolls back. */
export class StaleOrderError extends Error {
  constructor(orderId: string) {
    super(`paper order ${orderId} changed concurrently`);
    this.name = 'StaleOrderError';
  }
}

export function toBrokerOrder(row: PaperOrderRow): BrokerOrder {
  return {
    brokerOrderId: row.id,
    clientOrderId: row.clientOrderId,
    symbol: row.symbol,
    exchange: row.exchange,
    side: row.side as BrokerOrderSide,
    type: row.type as BrokerOrderType,
    quantity: fmt(row.quantity),
    filledQuantity: fmt(row.filledQuantity),
    averagePrice: row.averagePrice === null ? null : fmt(row.averagePrice),
    status: row.status as BrokerOrderStatus,
    rejectReason: row.rejectReason,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toBrokerFill(row: PaperFillRow): BrokerFill {
  return {
    brokerFillId: row.id,
    brokerOrderId: row.orderId,
    clientOrderId: row.clientOrderId,
    quantity: fmt(row.quantity),
    price: fmt(row.price),
    fee: fmt(row.fee, 2),
    executedAt: row.executedAt.toISOString(),
  };
}

export function toMatchable(row: PaperOrderRow): MatchableOrder {
  return {
    side: row.side as BrokerOrderSide,
    type: row.type as BrokerOrderType,
    remaining: fmt(dec(row.quantity).minus(row.filledQuantity)),
    limitPrice: row.limitPrice,
    stopPrice: row.stopPrice,
    triggered: row.triggered,
    tickSize: row.tickSize,
    lotSize: row.lotSize,
    protectionPrice: row.protectionPrice,
  };
}

/**
 * Whether a repeated placement carries the order already recorded under its client order id. A retry
 * (after a lost response or a crash) does; reusing the id for a different order is a caller's bug.
 */
export function sameRequest(row: PaperOrderRow, req: BrokerOrderRequest): boolean {
  const samePrice = (a: string | null, b: string | null | undefined) => (a === null || b == null ? a === null && b == null : dec(a).eq(b));
  return (
    row.symbol === req.instrument.symbol &&
    row.exchange === req.instrument.exchange &&
    row.side === req.side &&
    row.type === req.type &&
    row.timeInForce === req.timeInForce &&
    dec(row.quantity).eq(req.quantity) &&
    samePrice(row.limitPrice, req.limitPrice) &&
    samePrice(row.stopPrice, req.stopPrice)
  );
}

/** A fresh order's row as the request gives it (OPEN, a new id), before the database or a match adds the rest. */
export function newOrderFields(req: BrokerOrderRequest, now: Date) {
  return {
    id: randomUUID(),
    account: req.account,
    clientOrderId: req.clientOrderId,
    symbol: req.instrument.symbol,
    exchange: req.instrument.exchange,
    currency: req.instrument.currency,
    tickSize: toDb(req.instrument.tickSize),
    lotSize: toDb(req.instrument.lotSize),
    side: req.side,
    type: req.type,
    timeInForce: req.timeInForce,
    quantity: toDb(req.quantity),
    limitPrice: req.limitPrice ? toDb(req.limitPrice) : null,
    stopPrice: req.stopPrice ? toDb(req.stopPrice) : null,
    protectionPrice: req.protectionPrice ? toDb(req.protectionPrice) : null,
    status: 'OPEN' as const,
    createdAt: now,
    updatedAt: now,
  };
}

/** Lock one order of `account` (or of any account when null) for the rest of the transaction. */
export async function lockOrder(tx: Tx, id: string, account: string | null): Promise<PaperOrderRow | null> {
  const where = account === null ? eq(paperOrders.id, id) : and(eq(paperOrders.id, id), eq(paperOrders.account, account));
  const [row] = await tx.select().from(paperOrders).where(where).for('update');
  return row ?? null;
}

/** Record a stop's trigger, guarded by the order still being open and untriggered. */
export async function markTriggered(tx: Tx, row: PaperOrderRow, now: Date): Promise<PaperOrderRow> {
  const [updated] = await tx
    .update(paperOrders)
    .set({ triggered: true, updatedAt: now })
    .where(and(eq(paperOrders.id, row.id), inArray(paperOrders.status, [...OPEN_STATUSES]), eq(paperOrders.triggered, false)))
    .returning();
  if (!updated) throw new StaleOrderError(row.id);
  return updated;
}

/**
 * Record one execution: insert the fill (with a fresh uuid as its stable broker fill id) and move the
 * order's filled quantity, average price, fees and status. Guarded by the status and filled quantity the
 * caller read, so a stale read can never overfill.
 */
export async function applyFill(
  tx: Tx,
  row: PaperOrderRow,
  fill: { quantity: string; price: string },
  ctx: { now: Date; quoteAt: Date; fees: FeeSchedule },
): Promise<{ order: PaperOrderRow; fill: PaperFillRow }> {
  const q = dec(fill.quantity);
  const filledBefore = dec(row.filledQuantity);
  const filledAfter = filledBefore.plus(q);
  if (q.lte(0) || filledAfter.gt(row.quantity)) throw new StaleOrderError(row.id);
  const notional = q.mul(fill.price);
  const fee = computeFee(ctx.fees, row.currency, notional);
  const average = dec(row.averagePrice ?? 0).mul(filledBefore).plus(notional).div(filledAfter).toDecimalPlaces(8);
  const status: BrokerOrderStatus = filledAfter.eq(row.quantity) ? 'FILLED' : 'PARTIALLY_FILLED';

  const [inserted] = await tx
    .insert(paperFills)
    .values({
      id: randomUUID(),
      orderId: row.id,
      account: row.account,
      clientOrderId: row.clientOrderId,
      symbol: row.symbol,
      exchange: row.exchange,
      currency: row.currency,
      side: row.side,
      quantity: toDb(q),
      price: toDb(fill.price),
      fee: toDb(fee),
      executedAt: ctx.now,
    })
    .returning();
  const [updated] = await tx
    .update(paperOrders)
    .set({
      filledQuantity: toDb(filledAfter),
      averagePrice: toDb(average),
      feesPaid: toDb(dec(row.feesPaid).plus(fee)),
      status,
      lastQuoteAt: ctx.quoteAt,
      updatedAt: ctx.now,
      closedAt: status === 'FILLED' ? ctx.now : null,
    })
    .where(
      and(
        eq(paperOrders.id, row.id),
        inArray(paperOrders.status, [...OPEN_STATUSES]),
        eq(paperOrders.filledQuantity, toDb(filledBefore)),
      ),
    )
    .returning();
  if (!inserted || !updated) throw new StaleOrderError(row.id);
  return { order: updated, fill: inserted };
}

/**
 * Move an open order to a final state (CANCELED, EXPIRED), guarded by it still being open. `reason` says
 * why the exchange ended it (e.g. MARKET_PROTECTION), reported as the order's reject reason.
 */
export async function closeOrder(
  tx: Tx,
  row: PaperOrderRow,
  status: 'CANCELED' | 'EXPIRED',
  now: Date,
  reason?: string,
): Promise<PaperOrderRow | null> {
  const [updated] = await tx
    .update(paperOrders)
    .set({ status, updatedAt: now, closedAt: now, ...(reason ? { rejectReason: reason } : {}) })
    .where(and(eq(paperOrders.id, row.id), inArray(paperOrders.status, [...OPEN_STATUSES])))
    .returning();
  return updated ?? null;
}
