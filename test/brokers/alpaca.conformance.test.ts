import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { AlpacaAdapter } from '../../src/brokers/alpaca/index.js';
import { MemoryOrderRefs, MemorySessions } from '../../src/brokers/connections/memory.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runBrokerConformance } from './conformance.js';
import { AlpacaFake } from './fakes/alpaca.js';

// One fake Alpaca for the file; every test gets its own API key, account and connection.
let fake: Promise<AlpacaFake> | null = null;
const alpaca = () => (fake ??= new AlpacaFake().start());
afterAll(async () => {
  if (fake) await (await fake).stop();
});

for (const binary of [false, true]) {
  runBrokerConformance(`alpaca (Trading API v2) on its fake, ${binary ? 'binary (paper host)' : 'text'} stream frames`, async () => {
    const f = await alpaca();
    f.binaryFrames = binary;
    const keyId = `PK${randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase()}`;
    const { accountNumber } = f.addAccount(keyId, 'alpaca-secret');
    f.setQuote('AAPL', { bid: '271.40', ask: '271.50', last: '271.45', exchange: 'NASDAQ' });
    const sessions = new MemorySessions();
    const account = randomUUID();
    sessions.add(account, 'alpaca', { keyId, secretKey: 'alpaca-secret' }, { accessToken: 'alpaca-secret', accountId: accountNumber, expiresAt: null });
    const adapter = new AlpacaAdapter({ baseUrl: f.url, wsUrl: f.wsUrl, dataUrl: f.url, sessions, refs: new MemoryOrderRefs(), limiter: new MemoryRateLimiter(), logger: silentLogger });
    adapter.startPolling(100);
    return {
      adapter,
      account,
      instrument: { symbol: 'AAPL', exchange: 'NASDAQ', currency: 'USD', tickSize: '0.01', lotSize: '1' },
      marketPrice: () => '271.45',
      teardown: () => adapter.close(),
    };
  });
}
