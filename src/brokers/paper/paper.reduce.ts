import { and, eq, inArray } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { dec, toDb } from '../../lib/decimal.js';
import { BrokerOrderNotFoundError, BrokerRejectedError } from '../broker.js';
import { OPEN_STATUSES, isOpen, lockOrder, StaleOrderError } from './paper.book.js';
import { paperOrders, type PaperOrderRow } from './paper.schema.js';

/**
 * Reduce a resting paper order's total quantity to `quantity`, in the caller's transaction, with the
 * order locked (matching locks it too, so a fill and a reduce never interleave). The rules a real
 * exchange applies to a quantity modification: the order must be open, the new quantity a whole number
 * of lots, below the current quantity and above what has filled. An order already at `quantity` is
 * returned unchanged (`changed` false): a retried reduce is harmless.
 */
export async function reduceInTx(tx: Tx, account: string, brokerOrderId: string, quantity: string, now: Date): Promise<{ order: PaperOrderRow; changed: boolean }> {
  const row = await lockOrder(tx, brokerOrderId, account);
  if (!row) throw new BrokerOrderNotFoundError(brokerOrderId);
  const target = dec(quantity);
  if (target.eq(row.quantity)) return { order: row, changed: false };
  if (!isOpen(row.status)) throw new BrokerRejectedError(`order ${brokerOrderId} is ${row.status} and cannot be modified`, 'ORDER_NOT_OPEN');
  if (!target.isFinite() || target.gt(row.quantity)) throw new BrokerRejectedError(`quantity ${quantity} is not below the order's ${row.quantity}`, 'NOT_A_REDUCTION');
  if (target.lte(row.filledQuantity)) throw new BrokerRejectedError(`quantity ${quantity} is not above the ${row.filledQuantity} already filled`, 'QUANTITY_BELOW_FILLED');
  if (!target.mod(row.lotSize).isZero()) throw new BrokerRejectedError(`quantity ${quantity} is not a multiple of the lot size ${row.lotSize}`, 'INVALID_QUANTITY');
  const [updated] = await tx
    .update(paperOrders)
    .set({ quantity: toDb(target), updatedAt: now })
    .where(and(eq(paperOrders.id, row.id), inArray(paperOrders.status, [...OPEN_STATUSES]), eq(paperOrders.filledQuantity, row.filledQuantity)))
    .returning();
  if (!updated) throw new StaleOrderError(row.id);
  return { order: updated, changed: true };
}
