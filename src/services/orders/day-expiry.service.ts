import { and, eq, lt } from 'drizzle-orm';
import { inLiterals } from '../../db/batch-sql.js';
import type { Db } from '../../db/client.js';
import { instruments, orders } from '../../db/schema/index.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { ExchangeCalendar } from '../../market/calendar.js';
import { BROKER_JOB_OPTIONS, type OrderQueue } from '../../jobs/jobs.js';
import type { OrderExecutionService } from './order-execution.service.js';
import { ACTIVE_STATUSES } from './order.state.js';


export interface DayExpiryResult {
  /** Orders the paper exchange (or any broker that takes the platform's clock) expired. */
  expiredAtBroker: number;
  /** Orders never sent to a broker, expired here. */
  expiredPending: number;
  /** Orders at a broker that are asked for their final state (sync-order). */
  synced: number;
}

/**
 * DAY orders end at the close of their exchange's session (exchange calendars in market/calendar.ts).
 * An order belongs to the session in progress when it was placed, or to the next one if placed outside a
 * session (queued, like an after-market order): so it expires at the first close after it was placed.
 * Run by the `expire-day-orders` job, once a minute, in one worker at a time; every step is idempotent
 * and guarded, so a second run (or two workers) changes nothing.
 */
export class DayOrderExpiry {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      logger: Logger;
      calendar: ExchangeCalendar;
      brokers: BrokerRegistry;
      queue: OrderQueue;
      execution: OrderExecutionService;
    },
  ) {}

  async run(): Promise<DayExpiryResult> {
    const now = this.deps.clock.now();
    const result: DayExpiryResult = { expiredAtBroker: 0, expiredPending: 0, synced: 0 };
    for (const exchange of this.deps.calendar.exchanges()) {
      const close = this.deps.calendar.lastClose(exchange, now);
      if (!close) continue;
      // 1. The exchange's own act: a simulated exchange has no clock, so it is told the session closed.
      //    Its order events (EXPIRED) reach the worker, which syncs each order (fills first, then the end).
      for (const broker of this.deps.brokers.all()) {
        if (broker.expireDayOrders) result.expiredAtBroker += (await broker.expireDayOrders({ exchange, placedBefore: close })).length;
      }
      // 2. The platform's side: orders placed before that close that are still alive here.
      const due = await this.deps.db
        .select({ id: orders.id, status: orders.status })
        .from(orders)
        .innerJoin(instruments, eq(instruments.id, orders.instrumentId))
        .where(and(eq(orders.timeInForce, 'DAY'), inLiterals(orders.status, ACTIVE_STATUSES), eq(instruments.exchange, exchange), lt(orders.createdAt, close)))
        .limit(1000);
      for (const o of due) {
        if (o.status === 'PENDING') {
          // Never reached a broker: it ends here (hold released, events), guarded by its status.
          await this.deps.execution.finish(o.id, 'EXPIRED', 'DAY order expired at the close');
          const [now] = await this.deps.db.select({ status: orders.status }).from(orders).where(eq(orders.id, o.id));
          if (now?.status === 'EXPIRED') result.expiredPending++;
        } else {
          // At a broker, whose word is final: bring in its fills and its end (once per order and close).
          await this.deps.queue.add('sync-order', { orderId: o.id }, { jobId: `sync-${o.id}-expiry-${close.getTime()}`, ...BROKER_JOB_OPTIONS });
          result.synced++;
        }
      }
    }
    if (result.expiredAtBroker || result.expiredPending) this.deps.logger.info(result, 'DAY orders expired at the close');
    return result;
  }
}
