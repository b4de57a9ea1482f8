import type { BrokerFill } from '../brokers/broker.js';
import type { JobQueue } from './queue.js';

/** Every job the order loop runs, with its typed, JSON-safe payload. One handler file per job. */
export interface JobMap {
  /** Send a PENDING order to its broker (or adopt it there after a crash). Job id = order id. */
  'submit-order': { orderId: string };
  /**
   * Send the orders of one placement batch (group commit) to their brokers together: one job instead of a
   * `submit-order` each, so the job's Redis work (add, fetch, lock, completion) is paid once per batch.
   * Job id = `submit-batch-` + the batch's first order id. Every order in it is submitted as by `submit-order`.
   */
  'submit-orders': { orderIds: string[] };
  /** Ask the broker to cancel an order in CANCEL_REQUESTED. */
  'cancel-order': { orderId: string };
  /** Apply one execution from the broker: fill, position, ledger, hold, events in one transaction. */
  'apply-fill': { orderId: string; fill: BrokerFill };
  /** Bring one order in line with the broker (missed fills, cancels, expiries). */
  'sync-order': { orderId: string };
  /** Periodic sweep: re-enqueue lost submissions, sync open orders. */
  reconcile: { at?: string };
  /** Periodic (every minute): expire DAY orders whose exchange session has closed. */
  'expire-day-orders': { at?: string };
  /** Periodic (hourly): delete published outbox events older than the retention. */
  'prune-outbox': { at?: string };
  /** Periodic (every 10 s): ANALYZE the order loop's tables that have doubled since their last analyze (db/table-stats.ts). */
  'analyze-tables': { at?: string };
  /** Periodic: advance basket runs whose current phase has ended (safety net for the order-settled nudge). */
  'basket-sweep': { at?: string };
  /** Periodic: close pooled accounts' aggregation windows and drive stalled parent orders. */
  'pooled-window': { at?: string };
  /** Drive one pooled parent order: place or adopt it, allocate its fills, settle its children. */
  'pooled-parent': { parentId: string };
  /** Periodic: reconcile pooled accounts with their members; notify admins of differences. */
  'pooled-reconcile': { at?: string };
  /** Submit every order of a basket run's phase together, then move the run on. Job id = run and phase. */
  'basket-phase': { runId: string; phase: 'SELL' | 'BUY' };
}

export type OrderQueue = JobQueue<JobMap>;

/** Attempts and backoff for broker-facing jobs: transient errors retry 200 ms, 400 ms, 800 ms, ... */
export const BROKER_JOB_OPTIONS = { attempts: 6, backoffMs: 200 } as const;
