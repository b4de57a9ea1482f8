import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { inLiterals } from '../../db/batch-sql.js';
import type { Db } from '../../db/client.js';
import { ZERO, dec, fmt, type Decimal } from '../../lib/decimal.js';
import type { BrokerFunds, BrokerPosition } from '../broker.js';
import { OPEN_STATUSES } from './paper.book.js';
import { paperFills, paperOrders } from './paper.schema.js';

/** What every paper account starts with, per currency, unless configured otherwise. */
export const DEFAULT_STARTING_CASH = '10000000';

/**
 * Positions are derived from the account's executions, in time order, at weighted average cost: buying
 * into a long (or selling into a short) averages in; reducing keeps the average; crossing zero starts the
 * new side at the crossing fill's price.
 */
export async function positionsOf(db: Db, account: string): Promise<BrokerPosition[]> {
  const rows = await db
    .select({ symbol: paperFills.symbol, exchange: paperFills.exchange, side: paperFills.side, quantity: paperFills.quantity, price: paperFills.price })
    .from(paperFills)
    .where(eq(paperFills.account, account))
    .orderBy(asc(paperFills.seq));
  const book = new Map<string, { symbol: string; exchange: string; qty: Decimal; avg: Decimal }>();
  for (const r of rows) {
    const key = `${r.exchange}:${r.symbol}`;
    const p = book.get(key) ?? { symbol: r.symbol, exchange: r.exchange, qty: ZERO, avg: ZERO };
    const signed = r.side === 'BUY' ? dec(r.quantity) : dec(r.quantity).neg();
    const after = p.qty.plus(signed);
    if (p.qty.isZero() || p.qty.isNeg() === signed.isNeg()) {
      p.avg = p.avg.mul(p.qty.abs()).plus(dec(r.price).mul(signed.abs())).div(after.abs());
    } else if (after.isZero()) {
      p.avg = ZERO;
    } else if (after.isNeg() !== p.qty.isNeg()) {
      p.avg = dec(r.price);
    }
    p.qty = after;
    book.set(key, p);
  }
  return [...book.values()]
    .filter((p) => !p.qty.isZero())
    .map((p) => ({ symbol: p.symbol, exchange: p.exchange, quantity: fmt(p.qty), averagePrice: fmt(p.avg.toDecimalPlaces(8)) }));
}

/**
 * Cash in one currency: the starting cash, minus what buys cost, plus what sells brought, minus fees.
 * Available cash also sets aside the unfilled part of open buy orders at their limit (or stop) price.
 */
export async function fundsOf(db: Db, account: string, currency: string, startingCash: string): Promise<BrokerFunds> {
  const [flow] = await db
    .select({
      net: sql<string | null>`sum(case when ${paperFills.side} = 'SELL' then ${paperFills.quantity} * ${paperFills.price} else -(${paperFills.quantity} * ${paperFills.price}) end)`,
      fees: sql<string | null>`sum(${paperFills.fee})`,
    })
    .from(paperFills)
    .where(and(eq(paperFills.account, account), eq(paperFills.currency, currency)));
  const [reserved] = await db
    .select({
      amount: sql<string | null>`sum((${paperOrders.quantity} - ${paperOrders.filledQuantity}) * coalesce(${paperOrders.limitPrice}, ${paperOrders.stopPrice}, 0))`,
    })
    .from(paperOrders)
    .where(
      and(
        eq(paperOrders.account, account),
        eq(paperOrders.currency, currency),
        eq(paperOrders.side, 'BUY'),
        inLiterals(paperOrders.status, OPEN_STATUSES),
      ),
    );
  const cash = dec(startingCash)
    .plus(flow?.net ?? 0)
    .minus(flow?.fees ?? 0);
  const available = cash.minus(reserved?.amount ?? 0);
  return { currency, cash: fmt(cash, 2), available: fmt(available, 2) };
}
