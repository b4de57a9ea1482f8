import { and, eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import type { Quote } from '../../market/quote.js';
import type { BrokerOrderRequest } from '../broker.js';
import type { FeeSchedule } from './fees.js';
import { closeOrder, isOpen, newOrderFields } from './paper.book.js';
import { matchLocked } from './paper.match-pass.js';
import { paperOrders, type PaperFillRow, type PaperOrderRow } from './paper.schema.js';

/**
 * Place one order alone (not batchable, no fresh quote, outside its session, or its batch failed), in the
 * caller's transaction: record it, match it at once against `quote` if its session is open, and cancel
 * what an IOC leaves open. `created` is false if its client order id was taken meanwhile (that order is
 * returned, for the caller to adopt).
 */
export async function placeOneInTx(
  tx: Tx,
  req: BrokerOrderRequest,
  quote: Quote | null,
  now: Date,
  opts: { isSessionOpen: (exchange: string, at: Date) => boolean; slippageBps: string; fees: FeeSchedule },
): Promise<{ order: PaperOrderRow; fills: PaperFillRow[]; created: boolean }> {
  const [inserted] = await tx
    .insert(paperOrders)
    .values(newOrderFields(req, now))
    .onConflictDoNothing({ target: [paperOrders.account, paperOrders.clientOrderId] })
    .returning();
  if (!inserted) {
    // Another process placed the same client order id between our lookup and insert.
    const [row] = await tx
      .select()
      .from(paperOrders)
      .where(and(eq(paperOrders.account, req.account), eq(paperOrders.clientOrderId, req.clientOrderId)));
    return { order: row, fills: [] as PaperFillRow[], created: false };
  }
  // Outside its session an order is queued for the next one: it rests unmatched (an IOC ends below).
  const tradable = quote && opts.isSessionOpen(req.instrument.exchange, now);
  const { order, fills } = tradable ? await matchLocked(tx, inserted, quote, now, opts) : { order: inserted, fills: [] as PaperFillRow[] };
  const final = req.timeInForce === 'IOC' && isOpen(order.status) ? ((await closeOrder(tx, order, 'CANCELED', now)) ?? order) : order;
  return { order: final, fills, created: true };
}
