/**
 * Runs the PubSub contract against the in-process adapter always, and against Redis when REDIS_URL is set.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { MemoryPubSub } from '../../src/events/memory.pubsub.js';
import { RedisPubSub } from '../../src/events/redis.pubsub.js';
import { silentLogger } from '../../src/lib/logger.js';
import { REDIS_URL, connectTestRedis, requireRedisWhenServicesRequired } from './helpers.js';
import { pubSubContract } from './pubsub.contract.js';

requireRedisWhenServicesRequired();

pubSubContract('in process', { distributed: false, create: () => new MemoryPubSub({ logger: silentLogger }) });

describe.runIf(Boolean(REDIS_URL))('Redis', () => {
  const url = REDIS_URL as string;
  // A prefix of its own: channels of other test runs on the same Redis never reach these subscribers.
  const prefix = `test-${randomUUID()}`;
  let probe: Redis;

  beforeAll(async () => {
    probe = await connectTestRedis(url);
  });

  afterAll(async () => {
    // Pub/sub stores no keys; the probe connection is all there is to release.
    await probe?.quit();
  });

  pubSubContract('Redis', { distributed: true, create: () => new RedisPubSub({ connection: url, prefix, logger: silentLogger }) });
});
