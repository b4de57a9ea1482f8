import type { JobQueue } from '../jobs/queue.js';
import type { UserEvent } from './events.js';

/** The notification queue's jobs, each with a typed JSON-safe payload (one handler file per job). */
export interface NotificationJobMap {
  /** Fan one user event out to the channels the user chose. Job id = `notify-<event id>`. */
  notify: { event: UserEvent };
  /** POST one event to one webhook (retried with backoff; same event id on every try). Job id = delivery id. */
  'deliver-webhook': { deliveryId: string };
  /** Send one event by email. Job id = delivery id. */
  'deliver-email': { deliveryId: string };
  /** Periodic: expire pending proposals past their expiry. */
  'expire-proposals': { at?: string };
}

export type NotificationQueue = JobQueue<NotificationJobMap>;
