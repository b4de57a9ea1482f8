import type { JobHandler } from '../jobs/queue.js';
import type { NotificationJobMap } from './jobs.js';

export const expireProposalsJob =
  (expire: () => Promise<unknown>): JobHandler<NotificationJobMap['expire-proposals']> =>
  async () => {
    await expire();
  };
