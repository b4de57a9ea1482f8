import { and, asc, eq } from 'drizzle-orm';
import { inLiterals } from '../../db/batch-sql.js';
import type { Db, Tx } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { ZERO, dec, toDb, type Decimal } from '../../lib/decimal.js';
import { instrumentKey, type Quote } from '../../market/quote.js';
import type { FeeSchedule } from './fees.js';
import { OPEN_STATUSES, applyFill, closeOrder, isOpen, lockOrder, markTriggered, StaleOrderError, toMatchable } from './paper.book.js';
import { matchOrder } from './paper.matching.js';
import type { RestingIndex } from './paper.resting-index.js';
import { paperOrders, type PaperFillRow, type PaperOrderRow } from './paper.schema.js';

/** What a matching pass needs of the paper broker running it (see PaperBroker.matchQuote). */
export interface MatchPassContext {
  db: Db;
  clock: Clock;
  resting: RestingIndex;
  isSessionOpen: (exchange: string, at: Date) => boolean;
  slippageBps: string;
  fees: FeeSchedule;
  /** Whether the broker has been closed: a pass stops between orders. */
  closed: () => boolean;
  /** Tell listeners, after commit: each execution first, then the order's new state. */
  publish: (order: PaperOrderRow, fills: PaperFillRow[]) => void;
}

/** One pass over the resting orders of an instrument, oldest first (time priority). */
export async function matchPass(ctx: MatchPassContext, quote: Quote): Promise<void> {
  if (!ctx.isSessionOpen(quote.exchange, ctx.clock.now())) return;
  const key = instrumentKey(quote.exchange, quote.symbol);
  const token = ctx.resting.token(key);
  const candidates = await ctx.db
    .select({ id: paperOrders.id })
    .from(paperOrders)
    .where(and(eq(paperOrders.symbol, quote.symbol), eq(paperOrders.exchange, quote.exchange), inLiterals(paperOrders.status, OPEN_STATUSES)))
    .orderBy(asc(paperOrders.seq));
  if (candidates.length === 0) ctx.resting.foundEmpty(key, token);
  // Displayed size is shared: what one order takes is gone for the next in this pass.
  const book: Quote = { ...quote };
  for (const { id } of candidates) {
    if (ctx.closed()) return;
    const now = ctx.clock.now();
    const result = await ctx.db
      .transaction(async (tx) => {
        const row = await lockOrder(tx, id, null);
        if (!row || !isOpen(row.status)) return null;
        return matchLocked(tx, row, book, now, ctx);
      })
      .catch((err: unknown) => {
        // Another process changed this order under us: skip it; the rest of the book still matches.
        if (err instanceof StaleOrderError) return null;
        throw err;
      });
    if (!result || result.fills.length === 0) continue;
    for (const f of result.fills) {
      if (f.side === 'BUY' && book.askSize !== null) book.askSize = toDb(subtractSize(book.askSize, f.quantity));
      if (f.side === 'SELL' && book.bidSize !== null) book.bidSize = toDb(subtractSize(book.bidSize, f.quantity));
    }
    ctx.publish(result.order, result.fills);
  }
}

/**
 * Match an order the caller has locked (or just inserted) against a quote, once per quote: an order
 * never takes liquidity twice from the same quote, even if several processes run this pass.
 */
export async function matchLocked(
  tx: Tx,
  row: PaperOrderRow,
  quote: Quote,
  now: Date,
  opts: { slippageBps: string; fees: FeeSchedule },
): Promise<{ order: PaperOrderRow; fills: PaperFillRow[] }> {
  // A feed timestamp that does not parse counts as "now", so the once-per-quote guard still holds.
  const parsed = new Date(quote.timestamp);
  const quoteAt = Number.isNaN(parsed.getTime()) ? now : parsed;
  if (row.lastQuoteAt && row.lastQuoteAt.getTime() >= quoteAt.getTime()) return { order: row, fills: [] };
  const m = matchOrder(toMatchable(row), quote, { slippageBps: opts.slippageBps });
  let order = row;
  if (m.triggered && !row.triggered && (row.type === 'STOP' || row.type === 'STOP_LIMIT')) order = await markTriggered(tx, row, now);
  if (m.protectionHit) {
    // Nothing can trade within the protection price: the unfilled rest is canceled, never filled worse.
    return { order: (await closeOrder(tx, order, 'CANCELED', now, 'MARKET_PROTECTION')) ?? order, fills: [] };
  }
  if (!m.fill) return { order, fills: [] };
  const applied = await applyFill(tx, order, m.fill, { now, quoteAt, fees: opts.fees });
  return { order: applied.order, fills: [applied.fill] };
}

/** What is left of a displayed size after a fill took `taken` of it (never below zero). */
function subtractSize(size: string, taken: string): Decimal {
  const left = dec(size).minus(taken);
  return left.isNeg() ? ZERO : left;
}
