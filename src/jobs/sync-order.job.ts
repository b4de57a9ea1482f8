import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { OrderExecutionService } from '../services/orders/order-execution.service.js';

/** sync-order: bring one order in line with the broker (missed fills, cancels, expiries). */
export const syncOrderJob =
  (execution: OrderExecutionService): JobHandler<JobMap['sync-order']> =>
  (job) =>
    execution.sync(job.data.orderId);
