import { randomUUID } from 'node:crypto';
import { afterAll, expect } from 'vitest';
import { IbkrAdapter } from '../../src/brokers/ibkr/index.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runBrokerConformance } from './conformance.js';
import { IbkrFake } from './fakes/ibkr.js';

// One fake gateway for the file and one rate limiter (the gateway's budget is one, whatever the adapter);
// every test gets its own IB account and connection.
let fake: Promise<IbkrFake> | null = null;
const gateway = () => (fake ??= new IbkrFake().start());
const limiter = new MemoryRateLimiter();
afterAll(async () => {
  if (!fake) return;
  const f = await fake;
  await f.stop();
  expect(f.violations).toEqual([]); // the gateway's limits were never broken (it records every 429 it sent)
});

runBrokerConformance('ibkr (Client Portal Web API) on its fake gateway', async () => {
  const f = await gateway();
  const ib = `DU${Math.floor(Math.random() * 1e7)}`;
  f.addAccount(ib, '100000');
  f.addStock('AAPL', 'NASDAQ', { bid: '271.40', ask: '271.50', last: '271.45' });
  const sessions = new MemorySessions();
  const account = randomUUID();
  sessions.add(account, 'ibkr', { accountId: ib }, { accessToken: 'ibkr-gateway-session', accountId: ib, expiresAt: null });
  const adapter = new IbkrAdapter({ baseUrl: f.url, wsUrl: f.wsUrl, sessions, refs: new MemoryOrderRefs(), limiter, logger: silentLogger });
  adapter.startPolling(200);
  return {
    adapter,
    account,
    instrument: { symbol: 'AAPL', exchange: 'NASDAQ', currency: 'USD', tickSize: '0.01', lotSize: '1' },
    marketPrice: () => '271.45',
    reduces: true,
    teardown: () => adapter.close(),
  };
});
