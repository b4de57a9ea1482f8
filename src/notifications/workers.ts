import type { Logger } from '../lib/logger.js';
import type { NotificationQueue } from './jobs.js';
import type { NotificationService } from './notification.service.js';
import type { WebhookService } from './webhook.service.js';
import type { EmailChannel } from './email.channel.js';
import { notifyJob } from './notify.job.js';
import { deliverWebhookJob } from './deliver-webhook.job.js';
import { deliverEmailJob } from './deliver-email.job.js';
import { expireProposalsJob } from './expire-proposals.job.js';

export const EXPIRE_PROPOSALS_EVERY_MS = 5_000;

/** The worker side of notifications: fan-out, webhook and email deliveries, proposal expiry. */
export async function registerNotificationWorkers(deps: {
  queue: NotificationQueue;
  notifications: NotificationService;
  webhooks: WebhookService;
  email: EmailChannel | null;
  expireProposals: () => Promise<unknown>;
  logger: Logger;
  concurrency: number;
}): Promise<void> {
  await deps.queue.work(
    {
      notify: notifyJob(deps.notifications),
      'deliver-webhook': deliverWebhookJob(deps.webhooks),
      'deliver-email': deliverEmailJob(deps.email),
      'expire-proposals': expireProposalsJob(deps.expireProposals),
    },
    { concurrency: deps.concurrency },
  );
  await deps.queue.repeat('expire-proposals', {}, { everyMs: EXPIRE_PROPOSALS_EVERY_MS });
}
