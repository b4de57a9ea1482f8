import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { GrowwAdapter } from '../../src/brokers/groww/index.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runBrokerConformance } from './conformance.js';
import { GrowwFake } from './fakes/groww.js';

let fake: Promise<GrowwFake> | null = null;
const groww = () => (fake ??= new GrowwFake().start());
afterAll(async () => {
  if (fake) await (await fake).stop();
});

runBrokerConformance('groww on its fake (fills by polling only)', async () => {
  const f = await groww();
  f.setQuote('INFY', { bid: '1499.90', ask: '1500.10', last: '1500.00' });
  const token = f.addUser(`g-${randomUUID()}`);
  const sessions = new MemorySessions();
  const account = randomUUID();
  sessions.add(account, 'groww', { accessToken: token }, { accessToken: token, expiresAt: null });
  const adapter = new GrowwAdapter({ baseUrl: f.url, sessions, refs: new MemoryOrderRefs(), limiter: new MemoryRateLimiter(), logger: silentLogger, ordersPerSecond: 10 });
  adapter.startPolling(50);
  return {
    adapter,
    account,
    instrument: { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
    marketPrice: () => '1500.00',
    teardown: () => adapter.close(),
  };
});
