/**
 * The in-process job queue of the embedded mode. Same contract as the BullMQ adapter
 * (test/ports/queue.contract.ts), without durability: jobs live in memory and are lost with the process,
 * which is why the order reconciler re-enqueues orders whose job vanished.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import { backoffDelayMs, normalizeJobOptions } from './job-options.js';
import { PermanentError } from '../errors.js';
import {
  UnrecoverableJobError,
  type Job,
  type JobHandler,
  type BulkJob,
  type JobOptions,
  type JobQueue,
  type QueueCounts,
  type RepeatSpec,
} from './queue.js';

export interface MemoryQueueOptions {
  name: string;
  logger: Logger;
  /**
   * How many ids of finished jobs are remembered for `jobId` dedupe (default 10 000), oldest forgotten
   * first. BullMQ keeps finished jobs (and so their ids) for a while too; see bullmq.queue.ts.
   */
  recentIdCapacity?: number;
}

interface Entry {
  id: string;
  name: string;
  data: unknown;
  attempts: number;
  backoffMs: number;
  /** Failed attempts so far. */
  attemptsMade: number;
}

type Handlers = Record<string, JobHandler<unknown>>;

/** In-process {@link JobQueue}: dedupe, delay, retries with exponential backoff, concurrency, repeat. */
export class MemoryQueue<M extends object> implements JobQueue<M> {
  private readonly name: string;
  private readonly logger: Logger;
  private readonly recentIdCapacity: number;
  private readonly waiting: Entry[] = [];
  private readonly delayed = new Map<Entry, NodeJS.Timeout>();
  /** Ids of jobs waiting, delayed or running. */
  private readonly liveIds = new Set<string>();
  /** Ids of finished jobs, in finishing order (Map keeps insertion order, so the first is the oldest). */
  private readonly recentIds = new Map<string, true>();
  private readonly running = new Set<Promise<void>>();
  private readonly repeaters = new Map<string, { timer: NodeJS.Timeout }>();
  private handlers: Handlers | undefined;
  private concurrency = 1;
  private completed = 0;
  private failed = 0;
  private closed = false;

  constructor(opts: MemoryQueueOptions) {
    this.name = opts.name;
    this.logger = opts.logger.child({ queue: opts.name });
    this.recentIdCapacity = opts.recentIdCapacity ?? 10_000;
  }

  async add<N extends keyof M & string>(name: N, data: M[N], opts: JobOptions = {}): Promise<void> {
    this.enqueue(name, data, opts);
  }

  async addBulk<N extends keyof M & string>(jobs: BulkJob<M, N>[]): Promise<void> {
    for (const j of jobs) normalizeJobOptions(j.opts); // all or nothing, as one Redis transaction
    for (const j of jobs) this.enqueue(j.name, j.data, j.opts ?? {});
  }

  async repeat<N extends keyof M & string>(name: N, data: M[N], spec: RepeatSpec): Promise<void> {
    this.assertOpen();
    if (!Number.isFinite(spec.everyMs) || spec.everyMs < 1) throw new RangeError(`everyMs must be >= 1, got ${spec.everyMs}`);
    const previous = this.repeaters.get(name);
    if (previous) clearInterval(previous.timer);
    let lastJobId: string | undefined;
    const tick = (): void => {
      // Skip an iteration while the previous one still waits or runs, so a slow job cannot pile up copies.
      if (this.closed || (lastJobId !== undefined && this.liveIds.has(lastJobId))) return;
      lastJobId = `repeat-${name}-${randomUUID()}`;
      this.enqueue(name, data, { jobId: lastJobId });
    };
    // Unref'd so a repeat never keeps the process alive on its own; close() clears it anyway.
    const state = { timer: setInterval(tick, spec.everyMs).unref() };
    this.repeaters.set(name, state);
    // BullMQ's `every` scheduler runs the first iteration at once; so do we.
    tick();
  }

  async unrepeat<N extends keyof M & string>(name: N): Promise<void> {
    this.assertOpen();
    const state = this.repeaters.get(name);
    if (state) clearInterval(state.timer);
    this.repeaters.delete(name);
  }

  async work(handlers: { [N in keyof M]: JobHandler<M[N]> }, opts: { concurrency?: number } = {}): Promise<void> {
    this.assertOpen();
    if (this.handlers) throw new Error(`queue ${this.name}: work() was already called`);
    const concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
    this.concurrency = concurrency;
    this.handlers = handlers as unknown as Handlers;
    this.pump();
  }

  async counts(): Promise<QueueCounts> {
    return {
      waiting: this.waiting.length,
      active: this.running.size,
      delayed: this.delayed.size,
      completed: this.completed,
      failed: this.failed,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { timer } of this.repeaters.values()) clearInterval(timer);
    this.repeaters.clear();
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    // Running jobs finish; nothing new starts because pump() checks `closed`.
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`queue ${this.name} is closed`);
  }

  private enqueue(name: string, data: unknown, opts: JobOptions): void {
    this.assertOpen();
    const { attempts, backoffMs, delayMs } = normalizeJobOptions(opts);
    const id = opts.jobId ?? randomUUID();
    if (this.liveIds.has(id) || this.recentIds.has(id)) return;
    // A JSON copy: the payload must survive serialization as it does in Redis, and a caller mutating its
    // object afterwards must not change the job.
    const entry: Entry = { id, name, data: JSON.parse(JSON.stringify(data)) as unknown, attempts, backoffMs, attemptsMade: 0 };
    this.liveIds.add(id);
    this.schedule(entry, delayMs);
  }

  private schedule(entry: Entry, delayMs: number): void {
    if (delayMs <= 0) {
      this.waiting.push(entry);
      this.pump();
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(entry);
      this.waiting.push(entry);
      this.pump();
    }, delayMs);
    // Unref'd so a forgotten delayed job never keeps the process alive; close() clears them anyway.
    timer.unref();
    this.delayed.set(entry, timer);
  }

  private pump(): void {
    while (!this.closed && this.handlers && this.running.size < this.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift() as Entry;
      const run: Promise<void> = this.run(entry, this.handlers).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(entry: Entry, handlers: Handlers): Promise<void> {
    const job: Job<unknown> = {
      id: entry.id,
      name: entry.name,
      data: entry.data,
      attemptsMade: entry.attemptsMade,
      attempts: entry.attempts,
    };
    try {
      const handler = handlers[entry.name];
      if (!handler) throw new UnrecoverableJobError(`no handler for job "${entry.name}"`);
      await handler(job);
      this.completed += 1;
      this.finish(entry);
    } catch (err) {
      entry.attemptsMade += 1;
      const final = err instanceof PermanentError || entry.attemptsMade >= entry.attempts;
      this.logger.warn(
        { err, jobId: entry.id, job: entry.name, attemptsMade: entry.attemptsMade, attempts: entry.attempts, final },
        'job failed',
      );
      if (final) {
        this.failed += 1;
        this.finish(entry);
      } else if (this.closed) {
        // Nothing will run it again in this process: count it as failed rather than leave it live forever.
        this.failed += 1;
        this.finish(entry);
      } else {
        this.schedule(entry, backoffDelayMs(entry.backoffMs, entry.attemptsMade));
      }
    }
  }

  private finish(entry: Entry): void {
    this.liveIds.delete(entry.id);
    this.recentIds.set(entry.id, true);
    if (this.recentIds.size > this.recentIdCapacity) {
      const oldest = this.recentIds.keys().next().value;
      if (oldest !== undefined) this.recentIds.delete(oldest);
    }
  }
}
