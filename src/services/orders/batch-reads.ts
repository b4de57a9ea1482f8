/**
 * The order loop's batch reads (and its PENDING → SUBMITTING move), as raw statements of every column
 * (db/batch-sql.ts `selectAll`): the placement, acknowledgement and submit batches read these tables by
 * key lists in every transaction, and drizzle built each `select().from(table)` anew (70–180 µs apiece
 * on the 2-core machine).
 */
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { holds, orders, portfolios, positions } from '../../db/schema/index.js';
import { lazyMap, rowsOf, selectAll, tableRows, uuidArray } from '../../db/batch-sql.js';

export const selectOrders = selectAll(orders);
/** Every column of `orders` for a raw statement's `returning`, and its rows mapped back (placement, submit). */
export const orderRows = tableRows(orders);
export const selectPortfolios = selectAll(portfolios);
export const selectPositions = selectAll(positions);
export const selectHolds = selectAll(holds);

/** Σ unreleased CASH holds of each of `pids` (a portfolio with none is absent). */
export function heldCashOf(tx: Pick<Tx, 'execute'>, pids: string[]): PromiseLike<{ portfolioId: string; total: string }[]> {
  return lazyMap(
    tx.execute(sql`select portfolio_id as "portfolioId", coalesce(sum(amount), 0)::text as total from holds
      where portfolio_id = any(${uuidArray(pids)}) and kind = ${'CASH'} and released_at is null group by portfolio_id`),
    (r) => rowsOf<{ portfolioId: string; total: string }>(r),
  );
}

/**
 * PENDING → SUBMITTING for `ids`, guarded (an order no longer PENDING is not moved): every column of the
 * moved rows back, mapped. The submit batch and the pooled window's claim both move orders so. Lazy (see
 * lazyMap). The statuses go as parameters, as drizzle sent them: the same statement shape, the same plan.
 */
export function moveToSubmitting(tx: Pick<Tx, 'execute'>, ids: string[], now: Date): PromiseLike<(typeof orders.$inferSelect)[]> {
  return lazyMap(
    tx.execute(sql`update orders set status = ${'SUBMITTING'}, submit_attempts = submit_attempts + 1, updated_at = ${now.toISOString()}::timestamptz
      where id = any(${uuidArray(ids)}) and status = ${'PENDING'} returning ${orderRows.list}`),
    orderRows.map,
  );
}
