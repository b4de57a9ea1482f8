import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { OrderExecutionService } from '../services/orders/order-execution.service.js';

/** apply-fill: one execution into fill, order, position, ledger, hold and events, in one transaction. */
export const applyFillJob =
  (execution: OrderExecutionService): JobHandler<JobMap['apply-fill']> =>
  async (job) => {
    await execution.applyFill(job.data.orderId, job.data.fill);
  };
