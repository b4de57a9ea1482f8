import type { JobHandler } from '../jobs/queue.js';
import type { NotificationJobMap } from './jobs.js';
import type { WebhookService } from './webhook.service.js';

export const deliverWebhookJob =
  (webhooks: WebhookService): JobHandler<NotificationJobMap['deliver-webhook']> =>
  (job) =>
    webhooks.deliver(job.data.deliveryId, { made: job.attemptsMade, allowed: job.attempts });
