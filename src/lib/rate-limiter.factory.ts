import type { Clock } from './clock.js';
import { MemoryRateLimiter } from './memory.rate-limiter.js';
import type { RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis.rate-limiter.js';

/** A rate limiter the caller must close at shutdown. */
export type ClosableRateLimiter = RateLimiter & { close(): Promise<void> };

/**
 * Picks the adapter by configuration: Redis when a URL is given (the budget is shared by every worker,
 * as broker limits are per account, not per process), else in process.
 */
export function createRateLimiter(cfg: { redisUrl?: string; prefix: string; clock?: Clock }): ClosableRateLimiter {
  if (cfg.redisUrl) return new RedisRateLimiter({ connection: cfg.redisUrl, prefix: cfg.prefix });
  return new MemoryRateLimiter({ clock: cfg.clock });
}
