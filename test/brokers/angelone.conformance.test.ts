import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { AngelOneAdapter, ANGEL_BUDGETS } from '../../src/brokers/angelone/index.js';
import { MemoryBrokerInstruments, MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runBrokerConformance } from './conformance.js';
import { AngelOneFake } from './fakes/angelone.js';

let fake: Promise<AngelOneFake> | null = null;
const angel = () => (fake ??= new AngelOneFake().start());
afterAll(async () => {
  if (fake) await (await fake).stop();
});

runBrokerConformance('angelone on its fake', async () => {
  const f = await angel();
  const client = `C${randomUUID().replace(/-/g, '').slice(0, 7).toUpperCase()}`;
  f.addClient(client, 'smartkey');
  f.addScrip('1594', { symbol: 'INFY-EQ', exchange: 'NSE', bid: '1499.90', ask: '1500.10', last: '1500.00' });
  const sessions = new MemorySessions();
  const account = randomUUID();
  sessions.add(account, 'angelone', { apiKey: 'smartkey', clientCode: client }, { accessToken: f.issueToken(client), accountId: client, expiresAt: null });
  const adapter = new AngelOneAdapter({
    baseUrl: f.url,
    sessions,
    refs: new MemoryOrderRefs(),
    instruments: new MemoryBrokerInstruments().set('angelone', 'NSE', 'INFY', '1594'),
    limiter: new MemoryRateLimiter(),
    logger: silentLogger,
    // The documented 1 book call per second makes the suite slow, not different: faster against the fake.
    budgets: { ...ANGEL_BUDGETS, books: [{ limit: 50, windowMs: 1_000 }] },
  });
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
