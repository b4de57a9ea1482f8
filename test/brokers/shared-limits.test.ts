import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FyersAdapter } from '../../src/brokers/fyers/index.js';
import { MemoryBrokerInstruments, MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerRateLimitedError } from '../../src/brokers/broker.js';
import { createRateLimiter, type ClosableRateLimiter } from '../../src/lib/rate-limiter.factory.js';
import { silentLogger } from '../../src/lib/logger.js';
import { modes, REDIS_URL } from '../support/env.js';
import { FyersFake } from './fakes/fyers.js';

/**
 * Two workers (two adapter instances) serving one Fyers account draw from one budget: in the scaled mode
 * the limiter is Redis, so together they never exceed Fyers' 10 calls per second.
 */
describe.each(modes())('broker limits shared by every worker (%s)', (mode) => {
  let fy: FyersFake;
  let limiter: ClosableRateLimiter;
  beforeAll(async () => {
    fy = await new FyersFake().start();
    limiter = createRateLimiter({ redisUrl: mode === 'scaled' ? REDIS_URL : undefined, prefix: `tgt-${randomUUID().slice(0, 8)}` });
  });
  afterAll(async () => {
    await limiter?.close();
    await fy?.stop();
  });

  it('two adapters on one account make at most 10 calls in any second, and the rest wait or are refused', async () => {
    const appId = 'SHARED1234-100';
    fy.addApp(appId, 'sec');
    const token = fy.issueToken(appId);
    const account = randomUUID();
    const worker = () => {
      const sessions = new MemorySessions();
      sessions.add(account, 'fyers', { appId, secretKey: 'sec' }, { accessToken: token, expiresAt: null });
      return new FyersAdapter({ baseUrl: fy.url, loginUrl: `${fy.url}/x`, sessions, refs: new MemoryOrderRefs(), instruments: new MemoryBrokerInstruments(), limiter, logger: silentLogger });
    };
    const [a, b] = [worker(), worker()];
    const results = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).listOrders(account)));
    const fulfilled = results.filter((r) => r.status === 'fulfilled').length;
    const throttled = results.filter((r) => r.status === 'rejected' && r.reason instanceof BrokerRateLimitedError).length;
    expect(fulfilled + throttled).toBe(24);
    expect(fulfilled).toBeGreaterThan(10);
    // At the broker: never more than 10 requests inside any one-second window (10 ms of slack for timers).
    const at = fy.requests.filter((r) => r.headers.authorization === `${appId}:${token}`).map((r) => r.at).sort((x, y) => x - y);
    expect(at).toHaveLength(fulfilled);
    for (let i = 0; i < at.length; i++) expect(at.filter((t) => t >= at[i] && t < at[i] + 990).length).toBeLessThanOrEqual(10);
  });
});
