import { and, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { basketRunOrders, orders } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { BROKER_JOB_OPTIONS, type OrderQueue } from '../../jobs/jobs.js';
import { inLiterals } from '../../db/batch-sql.js';

export interface ReconcileOptions {
  pendingAfterMs?: number;
  submittingAfterMs?: number;
  openAfterMs?: number;
  batch?: number;
}

/**
 * The reconciler: re-enqueue PENDING orders whose job was lost, retry SUBMITTING orders stuck past
 * any job's lifetime (the handler looks them up at the broker first), and sync open orders.
 */
export async function reconcileOrders(deps: { db: Db; clock: Clock; queue: OrderQueue }, opts: ReconcileOptions = {}): Promise<{ requeued: number; synced: number }> {
  const now = deps.clock.now().getTime();
  const batch = opts.batch ?? 200;
  const older = (ms: number) => lt(orders.updatedAt, new Date(now - ms));
  const bucket = Math.floor(now / 10_000);
  const pending = await deps.db
    .select({ id: orders.id, status: orders.status })
    .from(orders)
    .where(
      // A basket run's order has its phase's job (retried with backoff): it is only taken over alone once
      // as old as a stuck SUBMITTING one, not while that job waits its turn behind a burst of runs.
      sql`(${orders.status} = 'PENDING' and ${older(opts.pendingAfterMs ?? 5_000)} and (${older(opts.submittingAfterMs ?? 60_000)} or not exists (select 1 from ${basketRunOrders} b where b.order_id = ${orders.id})))
            or (${orders.status} = 'SUBMITTING' and ${older(opts.submittingAfterMs ?? 60_000)})`,
    )
    .limit(batch);
  for (const r of pending) {
    await deps.queue.add('submit-order', { orderId: r.id }, { jobId: `submit-${r.id}-${bucket}`, ...BROKER_JOB_OPTIONS });
  }
  const open = await deps.db
    .select({ id: orders.id })
    .from(orders)
    .where(and(inLiterals(orders.status, ['OPEN', 'PARTIALLY_FILLED', 'CANCEL_REQUESTED']), older(opts.openAfterMs ?? 30_000)))
    .limit(batch);
  for (const r of open) await deps.queue.add('sync-order', { orderId: r.id }, { jobId: `sync-${r.id}-${bucket}`, ...BROKER_JOB_OPTIONS });
  return { requeued: pending.length, synced: open.length };
}
