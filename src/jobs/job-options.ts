/**
 * Rules on job options shared by both queue adapters, so a job id that BullMQ would refuse is refused in
 * process too (otherwise a bug would only show up in the scaled mode).
 */
import type { JobOptions } from './queue.js';

/**
 * Throws a RangeError for a job id BullMQ cannot store: empty, an integer (BullMQ reserves those for its
 * own counters) or containing `:` (BullMQ reserves that for scheduler ids).
 */
export function assertValidJobId(jobId: string): void {
  if (jobId.length === 0) throw new RangeError('jobId must not be empty');
  if (/^-?\d+$/.test(jobId)) throw new RangeError(`jobId "${jobId}" must not be an integer`);
  if (jobId.includes(':')) throw new RangeError(`jobId "${jobId}" must not contain ":"`);
}

/** Validates the numeric options of `add`; returns attempts (default 1) and backoff (default 0 ms). */
export function normalizeJobOptions(opts: JobOptions = {}): { attempts: number; backoffMs: number; delayMs: number } {
  const attempts = opts.attempts ?? 1;
  const backoffMs = opts.backoffMs ?? 0;
  const delayMs = opts.delayMs ?? 0;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be an integer >= 1, got ${attempts}`);
  if (!Number.isFinite(backoffMs) || backoffMs < 0) throw new RangeError(`backoffMs must be >= 0, got ${backoffMs}`);
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`delayMs must be >= 0, got ${delayMs}`);
  if (opts.jobId !== undefined) assertValidJobId(opts.jobId);
  return { attempts, backoffMs, delayMs };
}

/** Delay before the next attempt after `attemptsMade` failures (>= 1): backoffMs * 2^(attemptsMade-1), as BullMQ's exponential backoff. */
export function backoffDelayMs(backoffMs: number, attemptsMade: number): number {
  return Math.round(backoffMs * 2 ** (attemptsMade - 1));
}
