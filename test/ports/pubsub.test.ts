/**
 * Runs the PubSub contract against the in-process adapter always, and against Redis when REDIS_URL is set.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPubSub } from '../../src/events/memory.pubsub.js';
import { RedisPubSub } from '../../src/events/redis.pubsub.js';
import { silentLogger } from '../../src/lib/logger.js';
import { REDIS_URL, connectTestRedis, requireRedisWhenServicesRequired, waitFor } from './helpers.js';
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

  it('publishMany still reaches every subscriber when the server refuses PUBSUB NUMSUB (an ACL without it)', async () => {
    const own = `test-${randomUUID()}`;
    const user = `tg-test-${randomUUID()}`;
    const admin = await connectTestRedis(url);
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret-pw', '~*', '&*', '+@all', '-pubsub|numsub');
    const limited = new URL(url);
    limited.username = user;
    limited.password = 'secret-pw';
    const ps = new RedisPubSub({ connection: limited.toString(), prefix: own, logger: silentLogger });
    try {
      const keys = Array.from({ length: 10 }, () => randomUUID());
      const got: number[] = [];
      await ps.subscribe('portfolio-events', keys[4], (m) => got.push(m.sequence));
      const event = (k: string, sequence: number) => ({ portfolioId: k, sequence, type: 'BALANCE_CHANGED' as const, payload: { cash: '0.00', availableCash: '0.00', reason: 'TEST' }, createdAt: new Date(0).toISOString() });
      await ps.publishMany('portfolio-events', keys.map((k) => ({ key: k, payload: event(k, 1) })));
      await ps.publishMany('portfolio-events', keys.map((k) => ({ key: k, payload: event(k, 2) })));
      await waitFor('both events', () => got.length === 2);
      expect(got).toEqual([1, 2]);
    } finally {
      await ps.close();
      await admin.call('ACL', 'DELUSER', user);
      await admin.quit();
    }
  });

  it('publishMany to many channels sends nothing to a channel nobody subscribes to; a small batch is sent whole', async () => {
    // A pattern subscriber sees every message sent on the prefix, and PUBSUB NUMSUB does not count it.
    const own = `test-${randomUUID()}`;
    const tap = await connectTestRedis(url);
    const ps = new RedisPubSub({ connection: url, prefix: own, logger: silentLogger });
    try {
      const sentTo = new Set<string>();
      tap.on('pmessage', (_pattern: string, channel: string) => sentTo.add(channel.split(':').at(-1)!));
      await tap.psubscribe(`${own}:portfolio-events:*`);
      const keys = Array.from({ length: 12 }, () => randomUUID());
      const got: string[] = [];
      await ps.subscribe('portfolio-events', keys[3], (m) => got.push(m.portfolioId));
      const event = (k: string) => ({ portfolioId: k, sequence: 1, type: 'BALANCE_CHANGED' as const, payload: { cash: '0.00', availableCash: '0.00', reason: 'TEST' }, createdAt: new Date(0).toISOString() });
      await ps.publishMany('portfolio-events', keys.map((k) => ({ key: k, payload: event(k) })));
      // Then a batch of two channels, one unheard: below the check's size, both go out.
      const [small1, small2] = [randomUUID(), randomUUID()];
      await ps.publishMany('portfolio-events', [small1, small2].map((k) => ({ key: k, payload: event(k) })));
      await waitFor('the small batch at the tap, and the subscriber its event', () => sentTo.has(small1) && sentTo.has(small2) && got.length > 0);
      expect(got).toEqual([keys[3]]);
      expect([...sentTo].sort()).toEqual([keys[3], small1, small2].sort());
    } finally {
      await ps.close();
      await tap.quit();
    }
  });
});
