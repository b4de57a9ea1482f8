/**
 * Runs the RateLimiter contract against the in-process adapter always, and against Redis when REDIS_URL is set.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { RedisRateLimiter } from '../../src/lib/redis.rate-limiter.js';
import { REDIS_URL, connectTestRedis, deleteKeys, requireRedisWhenServicesRequired } from './helpers.js';
import { rateLimiterContract } from './rate-limiter.contract.js';

requireRedisWhenServicesRequired();

rateLimiterContract('in process', { distributed: false, create: () => new MemoryRateLimiter() });

describe.runIf(Boolean(REDIS_URL))('Redis', () => {
  const url = REDIS_URL as string;
  const prefix = `test-${randomUUID()}`;
  let redis: Redis;

  beforeAll(async () => {
    redis = await connectTestRedis(url);
  });

  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  rateLimiterContract('Redis', { distributed: true, create: () => new RedisRateLimiter({ connection: url, prefix }) });

  it('lets an idle key expire from Redis one window after its last grant', async () => {
    const limiter = new RedisRateLimiter({ connection: redis, prefix });
    const key = `broker-account-${randomUUID()}`;
    await limiter.tryAcquire(key, { limit: 5, windowMs: 2_000 });
    const ttl = await redis.pttl(`${prefix}:ratelimit:${key}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2_000);
    await limiter.close(); // does not close the caller's connection
    expect(await redis.ping()).toBe('PONG');
  });
});
