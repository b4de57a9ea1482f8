import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { migrate, openDb, type DbHandle } from '../../src/db/client.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { PaperBroker } from '../../src/brokers/paper/index.js';
import { runBrokerConformance } from './conformance.js';
import { ManualQuoteSource } from './manual-quote-source.js';

// One in-memory database for the file; every test gets its own account and broker instance.
let handle: Promise<DbHandle> | null = null;
function database(): Promise<DbHandle> {
  handle ??= openDb({ dataDir: 'memory://' }).then(async (h) => {
    await migrate(h);
    return h;
  });
  return handle;
}

afterAll(async () => {
  if (handle) await (await handle).close();
});

runBrokerConformance('paper on PGlite', async () => {
  const { db } = await database();
  const quotes = new ManualQuoteSource();
  quotes.set('INFY', 'NSE', { bid: '1499.90', ask: '1500.10', last: '1500.00', bidSize: '1000', askSize: '1000' });
  const adapter = new PaperBroker({ db, quotes, clock: systemClock, logger: silentLogger, matching: true });
  return {
    adapter,
    account: `paper-${randomUUID()}`,
    instrument: { symbol: 'INFY', exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
    marketPrice: () => '1500.00',
    teardown: () => adapter.close(),
    reduces: true,
  };
});
