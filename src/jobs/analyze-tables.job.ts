import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { Logger } from '../lib/logger.js';

/** analyze-tables: re-analyze the tables that have doubled since their last analyze (db/table-stats.ts). */
export const analyzeTablesJob =
  (analyze: () => Promise<string[]>, logger: Logger): JobHandler<JobMap['analyze-tables']> =>
  async () => {
    const done = await analyze();
    if (done.length) logger.info({ tables: done }, 'tables analyzed after growing');
  };
