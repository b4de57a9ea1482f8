import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { BasketRunService } from '../services/baskets/basket-run.service.js';

/** basket-sweep: advance basket runs whose phase has ended but whose nudge was lost. */
export const basketSweepJob =
  (runs: BasketRunService): JobHandler<JobMap['basket-sweep']> =>
  async () => {
    await runs.sweep();
  };
