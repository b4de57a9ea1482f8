import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { OutboxRetention } from '../events/outbox-retention.js';

/** prune-outbox: delete published outbox events older than OUTBOX_RETENTION_HOURS. */
export const pruneOutboxJob =
  (retention: OutboxRetention): JobHandler<JobMap['prune-outbox']> =>
  async () => {
    await retention.prune();
  };
