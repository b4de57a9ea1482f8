import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { FyersAdapter } from '../../src/brokers/fyers/index.js';
import { MemoryBrokerInstruments, MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runBrokerConformance } from './conformance.js';
import { FyersFake } from './fakes/fyers.js';

let fake: Promise<FyersFake> | null = null;
const fyers = () => (fake ??= new FyersFake().start());
afterAll(async () => {
  if (fake) await (await fake).stop();
});

runBrokerConformance('fyers on its fake', async () => {
  const f = await fyers();
  const appId = `A${randomUUID().replace(/-/g, '').slice(0, 9).toUpperCase()}-100`;
  f.addApp(appId, 'sekret');
  f.setQuote('NSE:INFY-EQ', { bid: '1499.90', ask: '1500.10', last: '1500.00' });
  const sessions = new MemorySessions();
  const account = randomUUID();
  sessions.add(account, 'fyers', { appId, secretKey: 'sekret' }, { accessToken: f.issueToken(appId), expiresAt: null });
  const adapter = new FyersAdapter({
    baseUrl: f.url,
    loginUrl: `${f.url}/api/v3/generate-authcode`,
    sessions,
    refs: new MemoryOrderRefs(),
    instruments: new MemoryBrokerInstruments(),
    limiter: new MemoryRateLimiter(),
    logger: silentLogger,
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
