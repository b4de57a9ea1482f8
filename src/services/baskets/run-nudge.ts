import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { basketRunOrders, basketRuns, orders } from '../../db/schema/index.js';
import { TERMINAL_STATUSES } from '../orders/order.state.js';
import { uuidArray } from '../../db/batch-sql.js';

const ACTIVE = ['PLACING', 'SELLING', 'BUYING'] as const;
const TERMINAL = sql.join(
  [...TERMINAL_STATUSES].map((s) => sql`${s}`),
  sql`, `,
);

/**
 * The runs in flight, among those the given orders belong to, whose every order has ended: the only
 * ones a nudge can move on. One statement for a whole batch of settled orders, so the job loop's
 * bookkeeping does not read a run's orders again (and lock the run) after each of its fills.
 */
export async function runsReadyToAdvance(db: Db, orderIds: string[]): Promise<string[]> {
  if (orderIds.length === 0) return [];
  // The ids as ONE uuid[] parameter: the statement's text is the same whatever the batch's size, so it is
  // prepared once (with `in ($1, …, $n)` each size was a statement of its own to parse and plan).
  const runsOf = db.select({ runId: basketRunOrders.runId }).from(basketRunOrders).where(sql`${basketRunOrders.orderId} = any(${uuidArray(orderIds)})`);
  const rows = await db
    .select({ runId: basketRunOrders.runId })
    .from(basketRunOrders)
    .innerJoin(orders, eq(orders.id, basketRunOrders.orderId))
    .innerJoin(basketRuns, eq(basketRuns.id, basketRunOrders.runId))
    .where(and(inArray(basketRunOrders.runId, runsOf), inArray(basketRuns.status, [...ACTIVE])))
    .groupBy(basketRunOrders.runId)
    .having(sql`bool_and(${orders.status}::text in (${TERMINAL}))`);
  return rows.map((r) => r.runId);
}

/**
 * The sweep's list: runs in flight whose every order has ended (a run with no order row counts as
 * ended), in one statement, so the sweep opens a transaction only for a run it can move on instead of
 * one per run in flight (200 runs in flight were 200 transactions every BASKET_SWEEP_MS, each taking
 * the run's row lock from under the nudges).
 */
export async function runsReadyToSweep(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .select({ runId: basketRuns.id })
    .from(basketRuns)
    .leftJoin(basketRunOrders, eq(basketRunOrders.runId, basketRuns.id))
    .leftJoin(orders, eq(orders.id, basketRunOrders.orderId))
    .where(inArray(basketRuns.status, [...ACTIVE]))
    .groupBy(basketRuns.id)
    .having(sql`bool_and(${orders.status} is null or ${orders.status}::text in (${TERMINAL}))`)
    .limit(limit);
  return rows.map((r) => r.runId);
}
