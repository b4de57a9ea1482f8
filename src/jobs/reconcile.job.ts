import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { OrderExecutionService } from '../services/orders/order-execution.service.js';
import type { Logger } from '../lib/logger.js';

/** reconcile: the periodic sweep for lost submissions and open orders out of step with the broker. */
export const reconcileJob =
  (execution: OrderExecutionService, logger: Logger): JobHandler<JobMap['reconcile']> =>
  async () => {
    const r = await execution.reconcile();
    if (r.requeued || r.synced) logger.info(r, 'reconciler re-enqueued work');
  };
