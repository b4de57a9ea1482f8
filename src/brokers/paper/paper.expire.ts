import { and, eq, lt } from 'drizzle-orm';
import { inLiterals } from '../../db/batch-sql.js';
import type { Db } from '../../db/client.js';
import { OPEN_STATUSES } from './paper.book.js';
import { paperOrders, type PaperOrderRow } from './paper.schema.js';

/**
 * Move the open DAY orders of `scope.exchange` placed before `scope.placedBefore` (or all) to EXPIRED, in
 * one guarded statement, and return them (see PaperBroker.expireDayOrders).
 */
export async function expireDayOrdersIn(db: Db, scope: { exchange?: string; placedBefore?: Date }, now: Date): Promise<PaperOrderRow[]> {
  return await db
    .update(paperOrders)
    .set({ status: 'EXPIRED', updatedAt: now, closedAt: now })
    .where(
      and(
        eq(paperOrders.timeInForce, 'DAY'),
        inLiterals(paperOrders.status, OPEN_STATUSES),
        scope.exchange === undefined ? undefined : eq(paperOrders.exchange, scope.exchange),
        scope.placedBefore === undefined ? undefined : lt(paperOrders.createdAt, scope.placedBefore),
      ),
    )
    .returning();
}
