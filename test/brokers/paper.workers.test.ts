/**
 * Several PaperBroker instances ("worker processes") match, cancel and place against one book at once.
 * On Postgres (DATABASE_URL, which CI's second run always sets) their transactions truly overlap; on
 * PGlite they interleave at transaction boundaries. With DATABASE_URL the conformance suite also runs on
 * Postgres. When REQUIRE_SERVICES=1 and DATABASE_URL is missing the file fails, so that run can never pass
 * by quietly testing PGlite instead.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BrokerRejectedError, type BrokerOrder } from '../../src/brokers/broker.js';
import { PaperBroker } from '../../src/brokers/paper/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { dec } from '../../src/lib/decimal.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runBrokerConformance } from './conformance.js';
import { ManualQuoteSource } from './manual-quote-source.js';
import { usePaperExchange } from './paper-exchange.js';

const DATABASE_URL = process.env.DATABASE_URL;

if (process.env.REQUIRE_SERVICES === '1' && !DATABASE_URL) {
  it('has DATABASE_URL, because REQUIRE_SERVICES=1', () => {
    expect.fail('REQUIRE_SERVICES=1 but DATABASE_URL is not set: the paper exchange would not be tested on Postgres');
  });
}

const exchange = usePaperExchange(DATABASE_URL ? { url: DATABASE_URL, poolSize: 12 } : {});
const backend = DATABASE_URL ? 'Postgres' : 'PGlite';

if (DATABASE_URL) {
  runBrokerConformance('paper on Postgres', async () => {
    const { db } = await exchange();
    const quotes = new ManualQuoteSource();
    const symbol = `C${randomUUID().slice(0, 8)}`;
    quotes.set(symbol, 'NSE', { bid: '1499.90', ask: '1500.10', last: '1500.00', bidSize: '1000', askSize: '1000' });
    const adapter = new PaperBroker({ db, quotes, clock: systemClock, logger: silentLogger, matching: true });
    return {
      adapter,
      account: `paper-${randomUUID()}`,
      instrument: { symbol, exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1' },
      marketPrice: () => '1500.00',
      teardown: () => adapter.close(),
      reduces: true,
    };
  });
}

describe(`paper exchange on ${backend}: concurrent workers`, () => {
  it('never overfills and never fills after CANCELED while four workers match and cancel at once', async () => {
    const { broker, make, px, account, req } = await exchange();
    const workers = [broker, make(), make(), make()];
    for (let i = 0; i < 20; i++) {
      px({ bid: '99.90', ask: '100.10' });
      const placed = await broker.placeOrder(req({ quantity: '100', limitPrice: '99.50' }));
      const quote = () => px({ bid: '99.00', ask: '99.40', askSize: String(15 + ((i * 11) % 30)) });
      const canceler = workers[i % workers.length];
      const cancel = new Promise<void>((r) => setTimeout(r, i % 5))
        .then(() => canceler.cancelOrder(account, placed.brokerOrderId))
        .then(
          (o): BrokerOrder | Error => o,
          (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
        );
      await Promise.all([...workers.map((w) => w.matchQuote(quote())), ...workers.map((w) => w.matchQuote(quote())), cancel]);
      const outcome = await cancel;
      await Promise.all(workers.map((w) => w.matchQuote(quote())));

      const final = await broker.getOrder(account, placed);
      const fills = await broker.getFills(account, placed.brokerOrderId);
      const filled = fills.reduce((acc, f) => acc.plus(f.quantity), dec(0));
      expect(filled.eq(final?.filledQuantity ?? '-1')).toBe(true);
      expect(filled.lte(100)).toBe(true);
      if (outcome instanceof Error) {
        expect(outcome).toBeInstanceOf(BrokerRejectedError);
        expect(final?.status).toBe('FILLED');
      } else {
        expect(final?.status).toBe('CANCELED');
        expect(final?.filledQuantity).toBe(outcome.filledQuantity);
      }
    }
  });

  it('creates one order when four workers place the same client order id at once', async () => {
    const { broker, make, account, req } = await exchange();
    const workers = [broker, make(), make(), make()];
    for (let i = 0; i < 10; i++) {
      const r = req({ type: 'MARKET', limitPrice: null, quantity: '10' });
      const placed = await Promise.all(workers.map((w) => w.placeOrder(r)));
      expect(new Set(placed.map((o) => o.brokerOrderId)).size).toBe(1);
      const fills = await broker.getFills(account, placed[0].brokerOrderId);
      expect(fills.reduce((acc, f) => acc.plus(f.quantity), dec(0)).toFixed()).toBe('10');
    }
    expect(await broker.listOrders(account)).toHaveLength(10);
  });
});
