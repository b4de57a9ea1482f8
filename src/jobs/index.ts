/**
 * The job queue factory: BullMQ when a Redis URL is configured (scaled mode), in process otherwise
 * (embedded mode). Domain code receives a {@link JobQueue} and never knows which.
 */
import type { Logger } from '../lib/logger.js';
import { BullMqQueue } from './bullmq.queue.js';
import { MemoryQueue } from './memory.queue.js';
import type { JobQueue } from './queue.js';

export * from './queue.js';

export interface QueueConfig {
  /** Redis URL; absent means the in-process adapter. */
  redisUrl?: string;
  /** Redis key prefix (config.redisPrefix). */
  prefix: string;
  /** Queue name; every process using the same prefix and name shares the jobs. */
  name: string;
  logger: Logger;
}

/** Creates the queue adapter chosen by configuration. The caller closes it at shutdown. */
export function createQueue<M extends object>(cfg: QueueConfig): JobQueue<M> {
  if (cfg.redisUrl) {
    return new BullMqQueue<M>({ connection: cfg.redisUrl, name: cfg.name, prefix: cfg.prefix, logger: cfg.logger });
  }
  return new MemoryQueue<M>({ name: cfg.name, logger: cfg.logger });
}
