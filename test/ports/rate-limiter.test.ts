/**
 * Runs the RateLimiter contract against the in-process adapter always, and against Redis when REDIS_URL is set.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { RedisRateLimiter } from '../../src/lib/redis.rate-limiter.js';
import { REDIS_URL, connectTestRedis, deleteKeys, requireRedisWhenServicesRequired, sleep } from './helpers.js';
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

  it('drops grants out of the window only once the set is full, so it never holds more than `limit`', async () => {
    const limiter = new RedisRateLimiter({ connection: redis, prefix });
    const key = `broker-account-${randomUUID()}`;
    const k = `${prefix}:ratelimit:${key}`;
    const limit = { limit: 4, windowMs: 1_000 };
    const grant = async () => expect(await limiter.tryAcquire(key, limit)).toBe(0);
    await grant(); // A, t ≈ 0
    await grant(); // B
    await sleep(600);
    await grant(); // C, t ≈ 600: the key lives on one window after it
    await sleep(500);
    // t ≈ 1,100: A and B are out of the window but the set (3) is below the limit: D goes in untrimmed.
    await grant();
    expect(await redis.zcard(k)).toBe(4);
    // The set is full: A and B go, then E is granted.
    await grant();
    expect(await redis.zcard(k)).toBe(3);
    await grant(); // F: C, D, E, F in the window
    expect(await limiter.tryAcquire(key, limit)).toBeGreaterThan(0);
    expect(await redis.zcard(k)).toBe(4);
  });

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
