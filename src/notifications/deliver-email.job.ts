import type { JobHandler } from '../jobs/queue.js';
import type { NotificationJobMap } from './jobs.js';
import type { EmailChannel } from './email.channel.js';

export const deliverEmailJob =
  (email: EmailChannel | null): JobHandler<NotificationJobMap['deliver-email']> =>
  async (job) => {
    // Without SMTP_URL no email deliveries are created; one left from an earlier configuration waits.
    if (email) await email.deliver(job.data.deliveryId, { made: job.attemptsMade, allowed: job.attempts });
  };
