import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { OrderExecutionService } from '../services/orders/order-execution.service.js';

/** cancel-order: ask the broker to cancel, then sync what really happened. */
export const cancelOrderJob =
  (execution: OrderExecutionService): JobHandler<JobMap['cancel-order']> =>
  (job) =>
    execution.cancelAtBroker(job.data.orderId);
