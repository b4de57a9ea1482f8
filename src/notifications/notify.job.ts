import type { JobHandler } from '../jobs/queue.js';
import type { NotificationJobMap } from './jobs.js';
import type { NotificationService } from './notification.service.js';

export const notifyJob =
  (notifications: NotificationService): JobHandler<NotificationJobMap['notify']> =>
  (job) =>
    notifications.fanOut(job.data.events);
