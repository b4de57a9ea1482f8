import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradeStationAdapter } from '../../src/brokers/tradestation/index.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { BrokerRateLimitedError } from '../../src/brokers/broker.js';
import { createRateLimiter, type ClosableRateLimiter } from '../../src/lib/rate-limiter.factory.js';
import { silentLogger } from '../../src/lib/logger.js';
import { modes, REDIS_URL } from '../support/env.js';
import { TradeStationFake } from './fakes/tradestation.js';

/**
 * Two workers (two adapter instances) serving one TradeStation connection draw from one quota: in the
 * scaled mode the limiter is Redis, so together they never send more than the documented 250 Balances
 * requests in five minutes, and TradeStation never has to answer 429.
 */
describe.each(modes())('TradeStation quotas shared by every worker (%s)', (mode) => {
  let fake: TradeStationFake;
  let limiter: ClosableRateLimiter;
  beforeAll(async () => {
    fake = await new TradeStationFake().start();
    limiter = createRateLimiter({ redisUrl: mode === 'scaled' ? REDIS_URL : undefined, prefix: `tgt-${randomUUID().slice(0, 8)}` });
  });
  afterAll(async () => {
    await limiter?.close();
    await fake?.stop();
  });

  it('two adapters on one connection send at most 250 Balances requests per 5 minutes; the rest are refused here, retryably', async () => {
    const clientId = `tsshared${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    fake.addUser({ clientId, clientSecret: 'sec' });
    const t = fake.issueTokens(clientId);
    const account = randomUUID();
    const worker = () => {
      const sessions = new MemorySessions();
      sessions.add(account, 'tradestation', { clientId, clientSecret: 'sec' }, { accessToken: t.accessToken, refreshToken: t.refreshToken, accountId: t.accountId, expiresAt: null });
      return new TradeStationAdapter({ baseUrl: fake.baseUrl, loginUrl: fake.loginUrl, streams: false, sessions, refs: new MemoryOrderRefs(), limiter, logger: silentLogger });
    };
    const [a, b] = [worker(), worker()];
    const results: PromiseSettledResult<unknown>[] = [];
    for (let i = 0; i < 260; i += 20) results.push(...(await Promise.allSettled(Array.from({ length: 20 }, (_, k) => ((i + k) % 2 ? a : b).getFunds(account)))));
    const fulfilled = results.filter((r) => r.status === 'fulfilled').length;
    const throttled = results.filter((r) => r.status === 'rejected' && r.reason instanceof BrokerRateLimitedError).length;
    expect(fulfilled).toBe(250);
    expect(throttled).toBe(10);
    const sent = fake.requests.filter((r) => r.headers.authorization === `Bearer ${t.accessToken}` && r.path.endsWith('/balances'));
    expect(sent).toHaveLength(250);
    // Positions have their own quota.
    expect(await a.getPositions(account)).toEqual([]);
    await a.close();
    await b.close();
  }, 60_000);
});
