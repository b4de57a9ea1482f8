import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { DayOrderExpiry } from '../services/orders/day-expiry.service.js';

/** expire-day-orders: end the DAY orders whose exchange session has closed. */
export const expireDayOrdersJob =
  (expiry: DayOrderExpiry): JobHandler<JobMap['expire-day-orders']> =>
  async () => {
    await expiry.run();
  };
