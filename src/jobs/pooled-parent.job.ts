import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { ParentDriver } from '../services/pooled/parent-driver.service.js';

/** pooled-parent: drive one parent order (re-entrant: placement adopted, fills allocated once each). */
export const pooledParentJob =
  (driver: ParentDriver): JobHandler<JobMap['pooled-parent']> =>
  (job) =>
    driver.drive(job.data.parentId);
