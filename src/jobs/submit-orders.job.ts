import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { OrderExecutionService } from '../services/orders/order-execution.service.js';

/** submit-orders: send a placement batch's PENDING orders to their brokers together (OrderExecutionService.submitIds). */
export const submitOrdersJob =
  (execution: OrderExecutionService): JobHandler<JobMap['submit-orders']> =>
  (job) =>
    execution.submitIds(job.data.orderIds, { attemptsMade: job.attemptsMade, attempts: job.attempts });
