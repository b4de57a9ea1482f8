import { randomUUID } from 'node:crypto';
import { and, eq, or } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { dec, toDb } from '../../lib/decimal.js';
import type { Quote } from '../../market/quote.js';
import type { BrokerOrderRequest } from '../broker.js';
import { computeFee, type FeeSchedule } from './fees.js';
import { toMatchable } from './paper.book.js';
import { matchOrder } from './paper.matching.js';
import { paperFills, paperOrders, type PaperFillRow, type PaperOrderRow } from './paper.schema.js';

/** A new MARKET or LIMIT order with a quote to match against, in an open session. */
export interface FreshPlacement {
  req: BrokerOrderRequest;
  quote: Quote;
}

export interface PlacedOrder {
  order: PaperOrderRow;
  fills: PaperFillRow[];
  /** False: its client order id was recorded before (the caller adopts `order` or rejects the request). */
  created: boolean;
}

/** Whether a placement can go through {@link placeManyInTx} (stops need their trigger recorded first). */
export function batchable(req: BrokerOrderRequest): boolean {
  return req.type === 'MARKET' || req.type === 'LIMIT';
}

/**
 * What placing a fresh order and matching it at once against its quote records (paper.broker's
 * `place` then `matchLocked`, `applyFill` and the IOC close), computed before anything is written: the
 * order row in its state after the match, and its execution if any. Pure apart from the new ids.
 */
export function freshRows(p: FreshPlacement, now: Date, opts: { slippageBps: string; fees: FeeSchedule }): { order: PaperOrderRow; fill: PaperFillRow | null } {
  const { req, quote } = p;
  let order: PaperOrderRow = {
    id: randomUUID(),
    seq: 0, // assigned by the database
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
    status: 'OPEN',
    triggered: false,
    filledQuantity: '0',
    averagePrice: null,
    feesPaid: '0',
    rejectReason: null,
    lastQuoteAt: null,
    createdAt: now,
    updatedAt: now,
    closedAt: null,
  };
  const parsed = new Date(quote.timestamp);
  const quoteAt = Number.isNaN(parsed.getTime()) ? now : parsed;
  const m = matchOrder(toMatchable(order), quote, { slippageBps: opts.slippageBps });
  let fill: PaperFillRow | null = null;
  if (m.protectionHit) {
    // Nothing can trade within the protection price: canceled, never filled worse.
    return { order: { ...order, status: 'CANCELED', closedAt: now, rejectReason: 'MARKET_PROTECTION' }, fill: null };
  }
  if (m.fill && dec(m.fill.quantity).gt(0)) {
    const q = dec(m.fill.quantity);
    const notional = q.mul(m.fill.price);
    const fee = computeFee(opts.fees, order.currency, notional);
    const complete = q.eq(order.quantity);
    fill = {
      id: randomUUID(),
      orderId: order.id,
      seq: 0,
      account: order.account,
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      exchange: order.exchange,
      currency: order.currency,
      side: order.side,
      quantity: toDb(q),
      price: toDb(m.fill.price),
      fee: toDb(fee),
      executedAt: now,
    };
    order = {
      ...order,
      filledQuantity: toDb(q),
      averagePrice: toDb(notional.div(q).toDecimalPlaces(8)),
      feesPaid: toDb(fee),
      status: complete ? 'FILLED' : 'PARTIALLY_FILLED',
      lastQuoteAt: quoteAt,
      closedAt: complete ? now : null,
    };
  }
  // An IOC's unfilled rest is canceled at once.
  if (req.timeInForce === 'IOC' && (order.status === 'OPEN' || order.status === 'PARTIALLY_FILLED')) order = { ...order, status: 'CANCELED', closedAt: now };
  return { order, fill };
}

/**
 * Many fresh placements in the caller's transaction: one multi-row insert of the orders (a client order
 * id already recorded is skipped and its row returned with `created: false`) and one of the executions
 * of those inserted.
 */
export async function placeManyInTx(tx: Tx, batch: FreshPlacement[], now: Date, opts: { slippageBps: string; fees: FeeSchedule }): Promise<PlacedOrder[]> {
  const planned = batch.map((p) => freshRows(p, now, opts));
  const keyOf = (account: string, clientOrderId: string) => `${account}\u0000${clientOrderId}`;
  // A client order id twice in one batch: the first is placed, the rest adopt it.
  const first = new Map<string, number>();
  planned.forEach((r, i) => {
    const k = keyOf(r.order.account, r.order.clientOrderId);
    if (!first.has(k)) first.set(k, i);
  });
  const toInsert = [...first.values()].map((i) => {
    const { seq: _seq, ...row } = planned[i].order;
    return row;
  });
  const inserted = await tx.insert(paperOrders).values(toInsert).onConflictDoNothing({ target: [paperOrders.account, paperOrders.clientOrderId] }).returning();
  const byKey = new Map(inserted.map((o) => [keyOf(o.account, o.clientOrderId), o]));
  const fillRows = [...first.values()]
    .map((i) => planned[i])
    .filter((r) => r.fill && byKey.get(keyOf(r.order.account, r.order.clientOrderId))?.id === r.order.id)
    .map((r) => {
      const { seq: _seq, ...row } = r.fill!;
      return row;
    });
  const missing = planned.filter((r) => !byKey.has(keyOf(r.order.account, r.order.clientOrderId)));
  const [fills, existing] = await Promise.all([
    fillRows.length ? tx.insert(paperFills).values(fillRows).returning() : Promise.resolve([] as PaperFillRow[]),
    // Recorded before (a retry racing another process): read them to adopt.
    missing.length
      ? tx
          .select()
          .from(paperOrders)
          .where(or(...missing.map((r) => and(eq(paperOrders.account, r.order.account), eq(paperOrders.clientOrderId, r.order.clientOrderId)))))
      : Promise.resolve([] as PaperOrderRow[]),
  ]);
  const fillsOf = new Map(fills.map((f) => [f.orderId, f]));
  const existingByKey = new Map(existing.map((o) => [keyOf(o.account, o.clientOrderId), o]));
  return planned.map((r, i) => {
    const k = keyOf(r.order.account, r.order.clientOrderId);
    const mine = byKey.get(k);
    if (mine && mine.id === r.order.id && first.get(k) === i) {
      const f = fillsOf.get(mine.id);
      return { order: mine, fills: f ? [f] : [], created: true };
    }
    return { order: mine ?? existingByKey.get(k)!, fills: [], created: false };
  });
}
