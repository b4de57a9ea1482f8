/**
 * The job queue port. Two adapters implement it with one contract (test/ports/queue.contract.ts):
 * BullMQ on Redis (bullmq.queue.ts) and in process (memory.queue.ts). Domain code never knows which.
 */
import { PermanentError } from '../errors.js';

/** Options for one job. `jobId` makes `add` idempotent: adding a job whose id exists is a no-op. */
export interface JobOptions {
  jobId?: string;
  /** Run no sooner than this many ms from now. */
  delayMs?: number;
  /** Total attempts including the first (default 1). */
  attempts?: number;
  /** Exponential backoff base: attempt n waits backoffMs * 2^(n-1). */
  backoffMs?: number;
}

export interface Job<P> {
  id: string;
  name: string;
  data: P;
  /** Attempts already made before this one (0 on the first run). */
  attemptsMade: number;
  /** Total attempts allowed. */
  attempts: number;
}

export type JobHandler<P> = (job: Job<P>) => Promise<void>;

/**
 * Thrown by a job handler to fail the job at once, without the remaining retries. Services throw the
 * domain's {@link PermanentError} (errors.ts), which the queues treat the same way: they do not import
 * the job layer.
 */
export class UnrecoverableJobError extends PermanentError {}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

/** A job that runs every `everyMs`, once across all workers. */
export interface RepeatSpec {
  everyMs: number;
}

/** One job of {@link JobQueue.addBulk}. */
export interface BulkJob<M extends object, N extends keyof M & string> {
  name: N;
  data: M[N];
  opts?: JobOptions;
}

export interface JobQueue<M extends object> {
  /** Enqueue a job. Resolves once the job is durably stored (in Redis for BullMQ). */
  add<N extends keyof M & string>(name: N, data: M[N], opts?: JobOptions): Promise<void>;
  /**
   * Enqueue several jobs in one round trip (BullMQ `addBulk`), each as `add` would: a job whose id
   * exists is a no-op. Resolves once all are durably stored.
   */
  addBulk<N extends keyof M & string>(jobs: BulkJob<M, N>[]): Promise<void>;
  /** Register a repeating job (idempotent by name). */
  repeat<N extends keyof M & string>(name: N, data: M[N], spec: RepeatSpec): Promise<void>;
  /**
   * Remove the repeating job `name` (registered by any instance sharing the queue); a no-op when there is
   * none. An iteration already waiting or running still runs. For schedules only needed while something
   * exists (e.g. pooled windows while a pooled account does): a timer that fires with nothing to do costs.
   */
  unrepeat<N extends keyof M & string>(name: N): Promise<void>;
  /**
   * Start consuming jobs with these handlers. A handler that throws PermanentError (UnrecoverableJobError is one) fails the job
   * at once; any other error is retried with backoff until attempts run out. A job whose worker died
   * comes back (stalled-job recovery) and runs again.
   */
  work(handlers: { [N in keyof M]: JobHandler<M[N]> }, opts?: { concurrency?: number }): Promise<void>;
  counts(): Promise<QueueCounts>;
  /** Stop taking new jobs, wait for the running ones to finish, release connections. */
  close(): Promise<void>;
}
