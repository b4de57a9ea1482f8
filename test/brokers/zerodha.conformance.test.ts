import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { KiteAdapter } from '../../src/brokers/zerodha/index.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runBrokerConformance } from './conformance.js';
import { KiteFake } from './fakes/kite.js';

// One fake Kite for the file; every test gets its own developer app, Kite user and connection.
let fake: Promise<KiteFake> | null = null;
const kite = () => (fake ??= new KiteFake().start());
afterAll(async () => {
  if (fake) await (await fake).stop();
});

runBrokerConformance('zerodha (Kite Connect) on its fake', async () => {
  const f = await kite();
  const apiKey = `k${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  f.addApp({ apiKey, apiSecret: 'sekret', userId: `ZX${apiKey.slice(1, 6)}`, redirectUrl: 'http://127.0.0.1:1/cb' });
  f.setQuote('NSE', 'INFY', { bid: '1499.90', ask: '1500.10', last: '1500.00' });
  const sessions = new MemorySessions();
  const account = randomUUID();
  sessions.add(account, 'zerodha', { apiKey, apiSecret: 'sekret' }, { accessToken: f.issueToken(apiKey), expiresAt: null });
  const adapter = new KiteAdapter({ baseUrl: f.url, loginUrl: `${f.url}/connect/login`, sessions, refs: new MemoryOrderRefs(), limiter: new MemoryRateLimiter(), logger: silentLogger });
  adapter.startPolling(50);
  return {
    adapter,
    account,
    instrument: { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
    marketPrice: () => '1500.00',
    teardown: () => adapter.close(),
    reduces: true,
  };
});
