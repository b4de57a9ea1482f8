import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { ReconciliationCheck } from '../services/pooled/reconciliation-check.service.js';

/** pooled-reconcile (repeatable): compare each pooled account with its members; alert admins on a difference. */
export const pooledReconcileJob =
  (check: ReconciliationCheck): JobHandler<JobMap['pooled-reconcile']> =>
  async () => {
    await check.run();
  };
