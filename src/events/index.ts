/**
 * The pub/sub factory: Redis when a URL is configured (any api replica serves any subscriber), in
 * process otherwise. Domain code receives a {@link PubSub} and never knows which.
 */
import type { Logger } from '../lib/logger.js';
import { MemoryPubSub } from './memory.pubsub.js';
import type { PubSub } from './pubsub.js';
import { RedisPubSub } from './redis.pubsub.js';

export type { PubSub, Unsubscribe } from './pubsub.js';
export type { TopicMap } from './topics.js';
export { toAsyncIterator, SubscriptionOverflowError, type SubscriptionIterator } from './async-iterator.js';

export interface PubSubConfig {
  /** Redis URL; absent means the in-process adapter. */
  redisUrl?: string;
  /** Channel prefix (config.redisPrefix). */
  prefix: string;
  logger: Logger;
}

/** Creates the pub/sub adapter chosen by configuration. The caller closes it at shutdown. */
export function createPubSub(cfg: PubSubConfig): PubSub {
  if (cfg.redisUrl) return new RedisPubSub({ connection: cfg.redisUrl, prefix: cfg.prefix, logger: cfg.logger });
  return new MemoryPubSub({ logger: cfg.logger });
}
