import { randomUUID } from 'node:crypto';
import { afterAll, afterEach } from 'vitest';
import { migrate, openDb, type DbHandle } from '../../src/db/client.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { BrokerEvent, BrokerInstrument, BrokerOrderRequest } from '../../src/brokers/broker.js';
import { PaperBroker, type PaperBrokerOptions } from '../../src/brokers/paper/paper.broker.js';
import { ManualQuoteSource } from './manual-quote-source.js';

export type PaperExchange = Awaited<ReturnType<ReturnType<typeof usePaperExchange>>>;

/**
 * Test factory for the paper exchange. Call once at the top of a test file: it opens one database for
 * the file (in-memory PGlite, or Postgres when `db.url` is given) and closes brokers after each test and the database after all. Each call of the
 * returned function gives a fresh account and instrument (the book is exchange-wide, so each test trades
 * its own symbol), a quote source the test drives through `px`, and a pinned clock.
 */
export function usePaperExchange(db: { url?: string; poolSize?: number } = {}) {
  let handle: Promise<DbHandle> | null = null;
  const open: PaperBroker[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    if (handle) await (await handle).close();
  });

  return async function exchange(opts: Partial<PaperBrokerOptions> = {}, over: Partial<BrokerInstrument> = {}) {
    handle ??= openDb(db.url ? { url: db.url, poolSize: db.poolSize ?? 10 } : { dataDir: 'memory://' }).then(async (h) => {
      await migrate(h);
      return h;
    });
    const { db: database } = await handle;
    const quotes = new ManualQuoteSource();
    const clock = new ManualClock();
    const account = `acct-${randomUUID()}`;
    const instrument: BrokerInstrument = { symbol: `T${randomUUID().slice(0, 8)}`, exchange: 'NSE', currency: 'INR', tickSize: '0.05', lotSize: '1', ...over };
    const px = (q: Parameters<ManualQuoteSource['set']>[2]) => quotes.set(instrument.symbol, instrument.exchange, q);
    px({ bid: '99.90', ask: '100.10', last: '100', bidSize: '1000', askSize: '1000' });
    /** Another PaperBroker over the same database: another worker process. */
    const make = (more: Partial<PaperBrokerOptions> = {}) => {
      const b = new PaperBroker({ db: database, quotes, clock, logger: silentLogger, ...opts, ...more });
      open.push(b);
      return b;
    };
    const broker = make();
    const events: BrokerEvent[] = [];
    broker.onEvent((e) => events.push(e));
    const req = (o: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest => ({
      clientOrderId: randomUUID(),
      account,
      instrument,
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'DAY',
      quantity: '100',
      limitPrice: '99.00',
      ...o,
    });
    return { db: database, broker, make, quotes, px, clock, account, events, req, instrument };
  };
}
