import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { PooledWindowService } from '../services/pooled/pooled-window.service.js';

/** pooled-window (repeatable, once per interval across workers): close the windows whose boundary passed. */
export const pooledWindowJob =
  (windows: PooledWindowService): JobHandler<JobMap['pooled-window']> =>
  async () => {
    await windows.closeDueWindows();
  };
