import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { OrderExecutionService } from '../services/orders/order-execution.service.js';

/** submit-order: send a PENDING order to its broker, or adopt it there after a crash. */
export const submitOrderJob =
  (execution: OrderExecutionService): JobHandler<JobMap['submit-order']> =>
  (job) =>
    execution.submit(job.data.orderId, { attemptsMade: job.attemptsMade, attempts: job.attempts });
