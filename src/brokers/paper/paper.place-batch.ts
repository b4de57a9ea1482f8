import { randomUUID } from 'node:crypto';
import { and, eq, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { dec, toDb } from '../../lib/decimal.js';
import type { Quote } from '../../market/quote.js';
import type { BrokerOrderRequest } from '../broker.js';
import { computeFee, type FeeSchedule } from './fees.js';
import { newOrderFields, toMatchable } from './paper.book.js';
import { matchOrder } from './paper.matching.js';
import { paperOrders, type PaperFillRow, type PaperOrderRow } from './paper.schema.js';
import { jsonRows, rowsOf } from '../../db/batch-sql.js';

/** A numeric(24, 8) column's value as Postgres returns it: eight decimals, ties rounded away from zero. */
const numeric8 = (v: string | null): string | null => (v === null ? null : dec(v).toFixed(8));

/**
 * A planned order row as its insert stores it, so as the database would return it: the numerics at the
 * columns' scale (the timestamps already are; the rest is stored as given) and the sequence it assigned.
 */
function storedOrder(o: PaperOrderRow, seq: number): PaperOrderRow {
  return {
    ...o,
    seq,
    tickSize: numeric8(o.tickSize)!,
    lotSize: numeric8(o.lotSize)!,
    quantity: numeric8(o.quantity)!,
    limitPrice: numeric8(o.limitPrice),
    stopPrice: numeric8(o.stopPrice),
    protectionPrice: numeric8(o.protectionPrice),
    filledQuantity: numeric8(o.filledQuantity)!,
    averagePrice: numeric8(o.averagePrice),
    feesPaid: numeric8(o.feesPaid)!,
  };
}

function storedFill(f: PaperFillRow, seq: number): PaperFillRow {
  return { ...f, seq, quantity: numeric8(f.quantity)!, price: numeric8(f.price)!, fee: numeric8(f.fee)! };
}

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
 * What placing a fresh order and matching it at once against its quote records (paper.place.ts's
 * `placeOneInTx`, then paper.match-pass.ts's `matchLocked`, `applyFill` and the IOC close), computed before anything is written: the
 * order row in its state after the match, and its execution if any. Pure apart from the new ids.
 */
export function freshRows(p: FreshPlacement, now: Date, opts: { slippageBps: string; fees: FeeSchedule }): { order: PaperOrderRow; fill: PaperFillRow | null } {
  const { req, quote } = p;
  let order: PaperOrderRow = {
    ...newOrderFields(req, now),
    seq: 0, // assigned by the database
    triggered: false,
    filledQuantity: '0',
    averagePrice: null,
    feesPaid: '0',
    rejectReason: null,
    lastQuoteAt: null,
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
 * Many fresh placements in ONE statement (atomic by itself: no transaction, so no BEGIN and COMMIT round
 * trips): a data-modifying CTE inserts the orders (a client order id already recorded is skipped and its
 * row returned with `created: false`), a second one the executions of the orders it inserted, and both
 * come back as their ids and sequences. Works in a caller's transaction as well.
 */
export async function placeManyInTx(tx: DbOrTx, batch: FreshPlacement[], now: Date, opts: { slippageBps: string; fees: FeeSchedule }): Promise<PlacedOrder[]> {
  const planned = batch.map((p) => freshRows(p, now, opts));
  const keyOf = (account: string, clientOrderId: string) => `${account}\u0000${clientOrderId}`;
  // A client order id twice in one batch: the first is placed, the rest adopt it.
  const first = new Map<string, number>();
  planned.forEach((r, i) => {
    const k = keyOf(r.order.account, r.order.clientOrderId);
    if (!first.has(k)) first.set(k, i);
  });
  const toInsert = [...first.values()].map((i, n) => ({ ...planned[i].order, i: n })); // `i`: inserted (seq) in batch order
  // An execution is written only with its order (the statement joins it to the rows it inserted).
  const fillRows = [...first.values()].flatMap((i) => (planned[i].fill ? [planned[i].fill!] : [])).map((f, i) => ({ ...f, i }));
  // One statement text whatever the batch size (rows as one jsonb parameter: db/batch-sql.ts).
  const rows = rowsOf<{ k: string; id: string; seq: string }>(
    await tx.execute(sql`with ins as (
        insert into paper_orders (id, account, client_order_id, symbol, exchange, currency, tick_size, lot_size, side, type, time_in_force,
          quantity, limit_price, stop_price, protection_price, status, triggered, filled_quantity, average_price, fees_paid, reject_reason,
          last_quote_at, created_at, updated_at, closed_at)
        select v.id, v.account, v."clientOrderId", v.symbol, v.exchange, v.currency, v."tickSize", v."lotSize", v.side, v.type, v."timeInForce",
          v.quantity, v."limitPrice", v."stopPrice", v."protectionPrice", v.status, v.triggered, v."filledQuantity", v."averagePrice", v."feesPaid",
          v."rejectReason", v."lastQuoteAt", v."createdAt", v."updatedAt", v."closedAt"
        from jsonb_to_recordset(${jsonRows(toInsert)}) as v(i int, id text, account text, "clientOrderId" text, symbol text, exchange text, currency text,
          "tickSize" numeric, "lotSize" numeric, side text, type text, "timeInForce" text, quantity numeric, "limitPrice" numeric, "stopPrice" numeric,
          "protectionPrice" numeric, status text, triggered boolean, "filledQuantity" numeric, "averagePrice" numeric, "feesPaid" numeric,
          "rejectReason" text, "lastQuoteAt" timestamptz, "createdAt" timestamptz, "updatedAt" timestamptz, "closedAt" timestamptz)
        order by v.i
        on conflict (account, client_order_id) do nothing
        returning id, seq),
      f as (
        insert into paper_fills (id, order_id, account, client_order_id, symbol, exchange, currency, side, quantity, price, fee, executed_at)
        select v.id, v."orderId", v.account, v."clientOrderId", v.symbol, v.exchange, v.currency, v.side, v.quantity, v.price, v.fee, v."executedAt"
        from jsonb_to_recordset(${jsonRows(fillRows)}) as v(i int, id text, "orderId" text, account text, "clientOrderId" text, symbol text, exchange text,
          currency text, side text, quantity numeric, price numeric, fee numeric, "executedAt" timestamptz)
        where v."orderId" in (select ins.id from ins)
        order by v.i
        returning id, seq)
      select 'o' as k, id, seq::text as seq from ins
      union all
      select 'f' as k, id, seq::text as seq from f`),
  );
  // Only the ids and the sequences come back (the rows are what was sent, stored: storedOrder); the
  // whole rows as JSON were about 1.2 KB an order to build, send and parse.
  const plannedOrders = new Map(toInsert.map(({ i: _, ...o }) => [o.id, o]));
  const plannedFills = new Map(fillRows.map(({ i: _, ...f }) => [f.id, f]));
  const inserted = rows.filter((x) => x.k === 'o').map((x) => storedOrder(plannedOrders.get(x.id)!, Number(x.seq)));
  const fills = rows.filter((x) => x.k === 'f').map((x) => storedFill(plannedFills.get(x.id)!, Number(x.seq)));
  const byKey = new Map(inserted.map((o) => [keyOf(o.account, o.clientOrderId), o]));
  const missing = planned.filter((r) => !byKey.has(keyOf(r.order.account, r.order.clientOrderId)));
  // Recorded before (a retry racing another process): read them to adopt (a statement of its own, which
  // sees a row another transaction committed while the insert above waited for it).
  const existing = missing.length
    ? await tx
        .select()
        .from(paperOrders)
        .where(or(...missing.map((r) => and(eq(paperOrders.account, r.order.account), eq(paperOrders.clientOrderId, r.order.clientOrderId)))))
    : [];
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
