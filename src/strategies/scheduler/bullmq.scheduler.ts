import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger.js';
import type { ScheduleSpec } from '../schedule.js';
import { parseScheduleKey, scheduleKey, type ScheduleTarget, type SchedulerPort, type TickHandler } from './scheduler.js';

/**
 * Schedules as BullMQ job schedulers (one per target, keyed `strategy:<id>`), on their own queue. BullMQ
 * makes each firing one job whose id carries its scheduled time, so however many workers listen, a tick
 * is delivered once; the handler gets the scheduled time, not the moment a worker picked it up.
 */
export class BullMqScheduler implements SchedulerPort {
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private readonly connections: Redis[] = [];

  constructor(private readonly opts: { url: string; prefix: string; name?: string; logger: Logger }) {
    this.queue = new Queue(this.name, { connection: this.connect(), prefix: opts.prefix });
    this.queue.on('error', (err) => opts.logger.error({ err }, 'scheduler queue error'));
  }

  private get name(): string {
    return this.opts.name ?? 'schedules';
  }

  private connect(): Redis {
    const c = new Redis(this.opts.url, { maxRetriesPerRequest: null });
    c.on('error', (err) => this.opts.logger.warn({ err }, 'scheduler redis error'));
    this.connections.push(c);
    return c;
  }

  async upsert(target: ScheduleTarget, spec: ScheduleSpec): Promise<void> {
    const key = scheduleKey(target);
    await this.queue.upsertJobScheduler(key, { pattern: spec.cron, tz: spec.timezone }, { name: 'tick', data: { key }, opts: { removeOnComplete: 100, removeOnFail: 100 } });
  }

  async remove(target: ScheduleTarget): Promise<void> {
    await this.queue.removeJobScheduler(scheduleKey(target));
  }

  async start(handler: TickHandler): Promise<void> {
    if (this.worker) return;
    this.worker = new Worker(
      this.name,
      async (job: Job<{ key: string }>) => {
        const target = parseScheduleKey(job.data.key);
        if (!target) return;
        // Scheduler job ids are `repeat:<scheduler key>:<scheduled ms>`.
        const ms = Number(job.id?.split(':').pop());
        const at = new Date(Number.isFinite(ms) && ms > 0 ? ms : job.timestamp + (job.opts.delay ?? 0));
        await handler(target, at);
      },
      { connection: this.connect(), prefix: this.opts.prefix, concurrency: 4 },
    );
    this.worker.on('error', (err) => this.opts.logger.error({ err }, 'scheduler worker error'));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
