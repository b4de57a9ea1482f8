import type { ScheduleSpec } from '../schedule.js';

/** What a tick is for: a strategy run or a screener run. */
export interface ScheduleTarget {
  kind: 'strategy' | 'screener';
  id: string;
}

export type TickHandler = (target: ScheduleTarget, at: Date) => Promise<void>;

/**
 * The schedule port: cron schedules keyed by target, and ticks delivered to the worker side. Two adapters
 * with one contract (test/ports/scheduler.contract.ts): BullMQ job schedulers on Redis, and an in-process
 * timer scheduler for the embedded mode. A tick reaches one handler however many workers listen; the
 * service also records each tick under a unique key, so a tick delivered twice still runs once.
 *
 * Missed ticks: BullMQ keeps the next due tick while every worker is down and delivers it once a worker
 * is back (one catch-up run, late ticks after it are not replayed); the embedded scheduler does the same
 * at start from the target's stored next run time (`catchUp`).
 */
export interface SchedulerPort {
  /** Create or replace the schedule of a target (idempotent). */
  upsert(target: ScheduleTarget, spec: ScheduleSpec): Promise<void>;
  remove(target: ScheduleTarget): Promise<void>;
  /** Start delivering ticks to `handler` (worker side). */
  start(handler: TickHandler): Promise<void>;
  close(): Promise<void>;
}

export const scheduleKey = (t: ScheduleTarget) => `${t.kind}:${t.id}`;
export function parseScheduleKey(key: string): ScheduleTarget | null {
  const [kind, id] = key.split(':', 2);
  return (kind === 'strategy' || kind === 'screener') && id ? { kind, id } : null;
}
