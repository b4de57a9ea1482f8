import type { BrokerRegistry } from '../brokers/registry.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../server/metrics.js';
import type { OrderExecutionService } from '../services/orders/order-execution.service.js';
import { BROKER_JOB_OPTIONS, type JobMap, type OrderQueue } from './jobs.js';
import type { JobHandler } from './queue.js';
import { submitOrderJob } from './submit-order.job.js';
import { submitOrdersJob } from './submit-orders.job.js';
import { cancelOrderJob } from './cancel-order.job.js';
import { applyFillJob } from './apply-fill.job.js';
import { syncOrderJob } from './sync-order.job.js';
import { reconcileJob } from './reconcile.job.js';
import { expireDayOrdersJob } from './expire-day-orders.job.js';
import { pruneOutboxJob } from './prune-outbox.job.js';
import { analyzeTablesJob } from './analyze-tables.job.js';
import type { DayOrderExpiry } from '../services/orders/day-expiry.service.js';
import type { OutboxRetention } from '../events/outbox-retention.js';
import { basketSweepJob } from './basket-sweep.job.js';
import type { BasketRunService } from '../services/baskets/basket-run.service.js';
import { pooledWindowJob } from './pooled-window.job.js';
import { pooledParentJob } from './pooled-parent.job.js';
import { pooledReconcileJob } from './pooled-reconcile.job.js';
import type { ReconciliationCheck } from '../services/pooled/reconciliation-check.service.js';
import type { PooledWindowService } from '../services/pooled/pooled-window.service.js';
import type { PooledWindowSchedule } from '../services/pooled/window-schedule.js';
import { PARENT_CLIENT_PREFIX, type ParentDriver } from '../services/pooled/parent-driver.service.js';
import { basketPhaseJob } from './basket-phase.job.js';
import { RunSubmitter } from '../services/baskets/run-submit.js';

export const RECONCILE_EVERY_MS = 5_000;
/** DAY orders are expired within a minute of their exchange's close. */
export const EXPIRE_DAY_ORDERS_EVERY_MS = 60_000;
export const PRUNE_OUTBOX_EVERY_MS = 3_600_000;
export const ANALYZE_TABLES_EVERY_MS = 10_000;

function timed<P>(name: string, metrics: Metrics, handler: JobHandler<P>): JobHandler<P> {
  return async (job) => {
    const end = metrics.jobDuration.startTimer({ name });
    try {
      await handler(job);
      metrics.jobs.inc({ name, outcome: 'ok' });
    } catch (err) {
      metrics.jobs.inc({ name, outcome: 'error' });
      throw err;
    } finally {
      end();
    }
  };
}

/**
 * The worker role: consume the order jobs, turn broker events (fills, status changes) into durable
 * jobs, and schedule the reconciler.
 */
export async function registerWorkers(deps: {
  queue: OrderQueue;
  execution: OrderExecutionService;
  brokers: BrokerRegistry;
  logger: Logger;
  metrics: Metrics;
  concurrency: number;
  /** Scheduled housekeeping; each is skipped when not given (e.g. by benchmarks of the order loop alone). */
  expiry?: DayOrderExpiry;
  outboxRetention?: OutboxRetention;
  /** ANALYZE the tables that have doubled since their last analyze (db/table-stats.ts), every 10 s. */
  analyzeTables?: () => Promise<string[]>;
  /** Basket runs: nudged after every order job, swept every `basketSweepMs`. */
  basketRuns?: BasketRunService;
  basketSweepMs?: number;
  /** Pooled accounts: windows closed every `tickMs`; parent orders' broker events drive their parent. */
  pooled?: { windows: PooledWindowService; driver: ParentDriver; tickMs: number; reconciliation?: ReconciliationCheck; reconcileMs?: number; schedule?: PooledWindowSchedule };
}): Promise<void> {
  const { queue, execution, logger, metrics } = deps;
  for (const broker of deps.brokers.all()) {
    broker.onEvent((ev) => {
      // A pooled parent's event (its client order id is not an order's): drive that parent.
      const cid = ev.kind === 'fill' ? ev.fill.clientOrderId : ev.order.clientOrderId;
      if (cid.startsWith(PARENT_CLIENT_PREFIX)) {
        const parentId = cid.slice(PARENT_CLIENT_PREFIX.length);
        const tag = ev.kind === 'fill' ? ev.fill.brokerFillId : `${ev.order.status}-${ev.order.filledQuantity}`;
        deps.queue
          .add('pooled-parent', { parentId }, { jobId: `pooled-parent-${parentId}-${tag}`, ...BROKER_JOB_OPTIONS })
          .catch((err) => logger.error({ err, parentId }, 'could not enqueue a pooled parent event; the window sweep will drive it'));
        return;
      }
      // Fills carry themselves; of order updates only endings matter here (an acknowledgement is
      // recorded by the submit job, a fill by its own event).
      if (ev.kind === 'order' && !['CANCELED', 'EXPIRED', 'REJECTED'].includes(ev.order.status)) return;
      // An execution of an order this process is placing is applied with its acknowledgement.
      if (ev.kind === 'fill' && execution.takeOverFill(ev.fill)) return;
      const add =
        ev.kind === 'fill'
          ? queue.add(
              'apply-fill',
              { orderId: ev.fill.clientOrderId, fill: ev.fill },
              { jobId: `fill-${ev.fill.clientOrderId}-${ev.fill.brokerFillId}`, ...BROKER_JOB_OPTIONS },
            )
          : queue.add(
              'sync-order',
              { orderId: ev.order.clientOrderId },
              { jobId: `sync-${ev.order.clientOrderId}-${ev.order.status}-${ev.order.filledQuantity}`, ...BROKER_JOB_OPTIONS },
            );
      // If this fails (Redis down), the reconciler finds the order out of step and syncs it.
      add.catch((err) => logger.error({ err, broker: broker.name }, 'could not enqueue a broker event'));
    });
  }
  const handlers: { [N in keyof JobMap]: JobHandler<JobMap[N]> } = {
    'submit-order': timed('submit-order', metrics, submitOrderJob(execution)),
    'submit-orders': timed('submit-orders', metrics, submitOrdersJob(execution)),
    'cancel-order': timed('cancel-order', metrics, cancelOrderJob(execution)),
    'apply-fill': timed('apply-fill', metrics, applyFillJob(execution)),
    'sync-order': timed('sync-order', metrics, syncOrderJob(execution)),
    reconcile: timed('reconcile', metrics, reconcileJob(execution, logger)),
    'expire-day-orders': timed('expire-day-orders', metrics, deps.expiry ? expireDayOrdersJob(deps.expiry) : async () => {}),
    'prune-outbox': timed('prune-outbox', metrics, deps.outboxRetention ? pruneOutboxJob(deps.outboxRetention) : async () => {}),
    'analyze-tables': timed('analyze-tables', metrics, deps.analyzeTables ? analyzeTablesJob(deps.analyzeTables, logger) : async () => {}),
    'basket-sweep': timed('basket-sweep', metrics, deps.basketRuns ? basketSweepJob(deps.basketRuns) : async () => {}),
    'pooled-window': timed('pooled-window', metrics, deps.pooled ? pooledWindowJob(deps.pooled.windows) : async () => {}),
    'pooled-parent': timed('pooled-parent', metrics, deps.pooled ? pooledParentJob(deps.pooled.driver) : async () => {}),
    'pooled-reconcile': timed('pooled-reconcile', metrics, deps.pooled?.reconciliation ? pooledReconcileJob(deps.pooled.reconciliation) : async () => {}),
    'basket-phase': timed('basket-phase', metrics, deps.basketRuns ? basketPhaseJob(new RunSubmitter({ runs: deps.basketRuns, orders: execution })) : async () => {}),
  };
  if (deps.basketRuns) {
    // After any job on an order, a basket run it belongs to may move on (buy phase, summary).
    const runs = deps.basketRuns;
    const nudgeAfter = <P>(h: JobHandler<P>, orderIds: (data: P) => string[]): JobHandler<P> => async (job) => {
      await h(job);
      await Promise.all(orderIds(job.data).map((id) => runs.onOrderSettled(id).catch((err) => logger.warn({ err, orderId: id }, 'basket run nudge failed; the sweep will retry'))));
    };
    const nudge = <P extends { orderId: string }>(h: JobHandler<P>) => nudgeAfter(h, (d) => [d.orderId]);
    handlers['submit-order'] = nudge(handlers['submit-order']);
    handlers['submit-orders'] = nudgeAfter(handlers['submit-orders'], (d) => d.orderIds);
    handlers['cancel-order'] = nudge(handlers['cancel-order']);
    handlers['apply-fill'] = nudge(handlers['apply-fill']);
    handlers['sync-order'] = nudge(handlers['sync-order']);
  }
  await queue.work(handlers, { concurrency: deps.concurrency });
  await queue.repeat('reconcile', {}, { everyMs: RECONCILE_EVERY_MS });
  // Job schedulers: once per interval however many workers share the queue (BullMQ), guarded SQL besides.
  if (deps.expiry) await queue.repeat('expire-day-orders', {}, { everyMs: EXPIRE_DAY_ORDERS_EVERY_MS });
  if (deps.outboxRetention) await queue.repeat('prune-outbox', {}, { everyMs: PRUNE_OUTBOX_EVERY_MS });
  if (deps.analyzeTables) await queue.repeat('analyze-tables', {}, { everyMs: ANALYZE_TABLES_EVERY_MS });
  if (deps.basketRuns) await queue.repeat('basket-sweep', {}, { everyMs: deps.basketSweepMs ?? 2000 });
  // Only while a pooled account exists, when the schedule is given (services/pooled/window-schedule.ts).
  if (deps.pooled?.schedule) await deps.pooled.schedule.sync();
  else if (deps.pooled) await queue.repeat('pooled-window', {}, { everyMs: deps.pooled.tickMs });
  if (deps.pooled?.reconciliation) await queue.repeat('pooled-reconcile', {}, { everyMs: deps.pooled.reconcileMs ?? 60_000 });
}
