import type { JobQueue } from '../jobs/queue.js';
import type { UserEvent } from './events.js';

/** The notification queue's jobs, each with a typed JSON-safe payload (one handler file per job). */
export interface NotificationJobMap {
  /** Fan user events out to the channels each user chose (one event, or a bulk batch). Job id from the event ids. */
  notify: { events: UserEvent[] };
  /** POST one event to one webhook (retried with backoff; same event id on every try). Job id = delivery id. */
  'deliver-webhook': { deliveryId: string };
  /** Send one event by email. Job id = delivery id. */
  'deliver-email': { deliveryId: string };
  /** Periodic: expire pending proposals past their expiry. */
  'expire-proposals': { at?: string };
}

export type NotificationQueue = JobQueue<NotificationJobMap>;
