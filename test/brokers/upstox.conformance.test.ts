import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { UpstoxAdapter } from '../../src/brokers/upstox/index.js';
import { MemoryBrokerInstruments, MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runBrokerConformance } from './conformance.js';
import { UpstoxFake } from './fakes/upstox.js';

let fake: Promise<UpstoxFake> | null = null;
const upstox = () => (fake ??= new UpstoxFake().start());
afterAll(async () => {
  if (fake) await (await fake).stop();
});

export const INFY_KEY = 'NSE_EQ|INE009A01021';

runBrokerConformance('upstox on its fake', async () => {
  const f = await upstox();
  const apiKey = `u-${randomUUID()}`;
  f.addApp({ apiKey, apiSecret: 'sekret', userId: `UP${apiKey.slice(2, 8)}` });
  f.addInstrument(INFY_KEY, { symbol: 'INFY', exchange: 'NSE', bid: '1499.90', ask: '1500.10', last: '1500.00' });
  const sessions = new MemorySessions();
  const account = randomUUID();
  sessions.add(account, 'upstox', { apiKey, apiSecret: 'sekret' }, { accessToken: f.issueToken(apiKey), expiresAt: null });
  const adapter = new UpstoxAdapter({
    baseUrl: f.url,
    orderUrl: f.url,
    loginUrl: `${f.url}/v2/login/authorization/dialog`,
    sessions,
    refs: new MemoryOrderRefs(),
    instruments: new MemoryBrokerInstruments().set('upstox', 'NSE', 'INFY', INFY_KEY),
    limiter: new MemoryRateLimiter(),
    logger: silentLogger,
  });
  adapter.startPolling(50);
  return {
    adapter,
    account,
    instrument: { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
    marketPrice: () => '1500.00',
    reduces: true,
    teardown: () => adapter.close(),
  };
});
