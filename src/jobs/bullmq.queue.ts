/**
 * The Redis-backed job queue of the scaled mode: one BullMQ `Queue` (producer) and, once `work()` is
 * called, one BullMQ `Worker` that dispatches by job name. Contract: test/ports/queue.contract.ts.
 */
import { Queue, UnrecoverableError, Worker, type Job as BullJob, type KeepJobs } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../lib/logger.js';
import { normalizeJobOptions } from './job-options.js';
import { PermanentError } from '../errors.js';
import {
  type JobHandler,
  type JobOptions,
  type BulkJob,
  type JobQueue,
  type QueueCounts,
  type RepeatSpec,
} from './queue.js';

/**
 * Crash recovery timing. A worker holds a lock on each running job and renews it every lockDuration/2;
 * every worker checks every stalledInterval for active jobs whose lock has expired and moves them back
 * to wait. So a SIGKILLed worker's job runs again after at most about lockDuration + stalledInterval
 * (≈ 8 s here) instead of BullMQ's default 30 s + 30 s. The price: a worker whose event loop is blocked
 * longer than lockDuration loses its lock and the job may run twice — job handlers are idempotent
 * (orders are looked up at the broker by client order id before a resubmission), so that is acceptable.
 */
export const DEFAULT_LOCK_DURATION_MS = 5_000;
export const DEFAULT_STALLED_INTERVAL_MS = 3_000;
/**
 * A job may come back from a dead worker this many times before it fails for good. Above BullMQ's
 * default of 1 so that a rolling deploy killing workers twice does not fail an order; low enough that
 * a job which crashes its process every time (a poison job) stops being retried.
 */
export const DEFAULT_MAX_STALLED_COUNT = 3;

/**
 * Retention of finished jobs. BullMQ ignores `add` with the id of a job it still stores, so keeping
 * finished jobs is what makes `jobId` dedupe hold after the job ran (a duplicate `submit-order` for an
 * order already submitted is dropped). Completed jobs are kept one day (at most 50 000), failed ones a
 * week (at most 50 000) for inspection. Eviction is best effort, done when a later job finishes.
 * Consequence: re-adding a job with the same id within that window is a no-op — a caller that wants to
 * run the same work again must use a new id.
 */
export const REMOVE_ON_COMPLETE: KeepJobs = { age: 24 * 3600, count: 50_000 };
export const REMOVE_ON_FAIL: KeepJobs = { age: 7 * 24 * 3600, count: 50_000 };

export interface BullMqQueueOptions {
  /** A Redis URL (`redis://…`) or ioredis options. The queue opens its own connections and closes them. */
  connection: string | RedisOptions;
  /** Queue name: every instance with the same prefix and name shares the jobs. */
  name: string;
  /** Redis key prefix (BullMQ `prefix`), so several deployments or test runs can share one Redis. */
  prefix: string;
  logger: Logger;
  /** Overrides for the crash-recovery timing; the defaults above are meant for production. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
}

type Handlers = Record<string, JobHandler<unknown>>;

/** {@link JobQueue} on BullMQ. */
export class BullMqQueue<M extends object> implements JobQueue<M> {
  private readonly opts: BullMqQueueOptions;
  private readonly logger: Logger;
  private readonly connections: Redis[] = [];
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private closing: Promise<void> | undefined;
  /**
   * add() keeps working while close() waits for the running jobs: a job finishing during a graceful
   * drain still enqueues its follow-ups (a fill's apply-fill, a sync after an acknowledgement). Refusing
   * them would leave those orders to the reconciler's next sweep instead.
   */
  private acceptingAdds = true;

  constructor(opts: BullMqQueueOptions) {
    this.opts = opts;
    this.logger = opts.logger.child({ queue: opts.name });
    this.queue = new Queue(opts.name, {
      connection: this.connect('queue'),
      prefix: opts.prefix,
      defaultJobOptions: { removeOnComplete: REMOVE_ON_COMPLETE, removeOnFail: REMOVE_ON_FAIL },
    });
    this.queue.on('error', (err) => this.logger.error({ err }, 'queue error'));
  }

  async add<N extends keyof M & string>(name: N, data: M[N], opts: JobOptions = {}): Promise<void> {
    if (!this.acceptingAdds) throw new Error(`queue ${this.opts.name} is closed`);
    const { attempts, backoffMs, delayMs } = normalizeJobOptions(opts);
    // A duplicate jobId resolves to the existing job without adding one: that is BullMQ's dedupe.
    await this.queue.add(name, data, {
      jobId: opts.jobId,
      delay: delayMs > 0 ? delayMs : undefined,
      attempts,
      backoff: backoffMs > 0 ? { type: 'exponential', delay: backoffMs } : undefined,
    });
  }

  async addBulk<N extends keyof M & string>(jobs: BulkJob<M, N>[]): Promise<void> {
    if (!this.acceptingAdds) throw new Error(`queue ${this.opts.name} is closed`);
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map((j) => {
        const { attempts, backoffMs, delayMs } = normalizeJobOptions(j.opts);
        return {
          name: j.name,
          data: j.data,
          opts: { jobId: j.opts?.jobId, delay: delayMs > 0 ? delayMs : undefined, attempts, backoff: backoffMs > 0 ? { type: 'exponential' as const, delay: backoffMs } : undefined },
        };
      }),
    );
  }

  async repeat<N extends keyof M & string>(name: N, data: M[N], spec: RepeatSpec): Promise<void> {
    this.assertOpen();
    if (!Number.isFinite(spec.everyMs) || spec.everyMs < 1) throw new RangeError(`everyMs must be >= 1, got ${spec.everyMs}`);
    // A job scheduler keyed by the job name: upserting it again (every replica does at start) updates the
    // one scheduler, and each iteration's job id is derived from the scheduler id and its time slot, so
    // the job runs once per interval however many queues and workers share the name.
    await this.queue.upsertJobScheduler(name, { every: spec.everyMs }, { name, data });
  }

  async unrepeat<N extends keyof M & string>(name: N): Promise<void> {
    this.assertOpen();
    await this.queue.removeJobScheduler(name);
  }

  async work(handlers: { [N in keyof M]: JobHandler<M[N]> }, opts: { concurrency?: number } = {}): Promise<void> {
    this.assertOpen();
    if (this.worker) throw new Error(`queue ${this.opts.name}: work() was already called`);
    const concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
    const byName = handlers as unknown as Handlers;
    const worker = new Worker(this.opts.name, (job: BullJob) => this.process(byName, job), {
      connection: this.connect('worker'),
      prefix: this.opts.prefix,
      concurrency,
      lockDuration: this.opts.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
      stalledInterval: this.opts.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
      maxStalledCount: this.opts.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT,
      // Jobs made by a scheduler carry no per-job retention; these apply to them.
      removeOnComplete: REMOVE_ON_COMPLETE,
      removeOnFail: REMOVE_ON_FAIL,
    });
    worker.on('error', (err) => this.logger.error({ err }, 'worker error'));
    worker.on('failed', (job, err) => {
      this.logger.warn(
        { err, jobId: job?.id, job: job?.name, attemptsMade: job?.attemptsMade, attempts: job?.opts.attempts },
        'job failed',
      );
    });
    worker.on('stalled', (jobId) => this.logger.warn({ jobId }, 'job stalled: its worker died, it will run again'));
    this.worker = worker;
    await worker.waitUntilReady();
  }

  async counts(): Promise<QueueCounts> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    return {
      waiting: c.waiting ?? 0,
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // Worker first: it stops fetching and waits for its running jobs, which still need the connection.
    if (this.worker) await this.worker.close();
    this.acceptingAdds = false;
    await this.queue.close();
    await Promise.all(
      this.connections.map(async (c) => {
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`queue ${this.opts.name} is closed`);
  }

  private connect(role: string): Redis {
    const base: RedisOptions = { maxRetriesPerRequest: null, connectionName: `${this.opts.prefix}:${this.opts.name}:${role}` };
    // BullMQ needs maxRetriesPerRequest: null (its blocking commands must wait out reconnects).
    const conn =
      typeof this.opts.connection === 'string'
        ? new Redis(this.opts.connection, base)
        : new Redis({ ...this.opts.connection, ...base });
    conn.on('error', (err) => this.logger.warn({ err, role }, 'redis connection error'));
    this.connections.push(conn);
    return conn;
  }

  private async process(handlers: Handlers, job: BullJob): Promise<void> {
    const handler = handlers[job.name];
    if (!handler) throw new UnrecoverableError(`no handler for job "${job.name}"`);
    try {
      await handler({
        id: job.id ?? '',
        name: job.name,
        data: job.data as unknown,
        attemptsMade: job.attemptsMade,
        attempts: job.opts.attempts ?? 1,
      });
    } catch (err) {
      // BullMQ only knows its own class: translate so the job fails at once instead of retrying.
      if (err instanceof PermanentError) {
        const unrecoverable = new UnrecoverableError(err.message);
        unrecoverable.stack = err.stack;
        throw unrecoverable;
      }
      throw err;
    }
  }
}
