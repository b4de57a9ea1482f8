import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { TradeStationAdapter } from '../../src/brokers/tradestation/index.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { createRateLimiter, type ClosableRateLimiter } from '../../src/lib/rate-limiter.factory.js';
import { modes, REDIS_URL } from '../support/env.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runBrokerConformance } from './conformance.js';
import { TradeStationFake } from './fakes/tradestation.js';

// One fake TradeStation for the file; every test gets its own API key, login, account and connection.
// The quotas are drawn from the mode's limiter (Redis in the scaled mode).
let fake: Promise<TradeStationFake> | null = null;
const ts = () => (fake ??= new TradeStationFake().start());
const limiters = new Map<string, ClosableRateLimiter>();
const limiter = (mode: string) => {
  if (!limiters.has(mode)) limiters.set(mode, createRateLimiter({ redisUrl: mode === 'scaled' ? REDIS_URL : undefined, prefix: `tgt-${randomUUID().slice(0, 8)}` }));
  return limiters.get(mode)!;
};
afterAll(async () => {
  for (const l of limiters.values()) await l.close();
  if (fake) await (await fake).stop();
});

for (const [mode, streams] of modes().flatMap((m) => [[m, true], [m, false]] as const)) {
  runBrokerConformance(`tradestation (API v3) on its fake, fills by ${streams ? 'the order stream' : 'polling alone'} (${mode})`, async () => {
    const f = await ts();
    const clientId = `ts${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    f.addUser({ clientId, clientSecret: 'ts-secret' });
    f.setQuote('MSFT', { bid: '411.20', ask: '411.30', last: '411.25' });
    const t = f.issueTokens(clientId);
    const sessions = new MemorySessions();
    const account = randomUUID();
    sessions.add(account, 'tradestation', { clientId, clientSecret: 'ts-secret' }, { accessToken: t.accessToken, refreshToken: t.refreshToken, accountId: t.accountId, expiresAt: null });
    const adapter = new TradeStationAdapter({ baseUrl: f.baseUrl, loginUrl: f.loginUrl, streams, minPollIntervalMs: 100, sessions, refs: new MemoryOrderRefs(), limiter: limiter(mode), logger: silentLogger });
    adapter.startPolling(100);
    return {
      adapter,
      account,
      instrument: { symbol: 'MSFT', exchange: 'NASDAQ', currency: 'USD', tickSize: '0.01', lotSize: '1' },
      marketPrice: () => '411.25',
      teardown: () => adapter.close(),
    };
  });
}
