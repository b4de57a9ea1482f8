/**
 * The order loop's domain services on one PGlite database with in-process ports, for tests that drive
 * deposits, orders, fills and cancels directly (no HTTP, no worker): the test plays the worker by calling
 * OrderExecutionService itself. The broker is a stub named 'paper' that acknowledges every order and
 * remembers what it was asked; fills are whatever the test feeds to `applyFill`.
 */
import { DEFAULT_FEES, feeBound } from '../../src/brokers/paper/fees.js';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { BrokerAdapter, BrokerFill, BrokerOrder, BrokerOrderRequest } from '../../src/brokers/broker.js';
import { BrokerRegistry } from '../../src/brokers/registry.js';
import type { Principal } from '../../src/auth/tokens.js';
import { migrate, openDb, type Db, type DbHandle } from '../../src/db/client.js';
import { users } from '../../src/db/schema/index.js';
import { seedInstruments, type InstrumentRow } from '../../src/db/seed/instruments.js';
import { MemoryPubSub } from '../../src/events/memory.pubsub.js';
import { OutboxRelay } from '../../src/events/outbox.js';
import type { JobMap } from '../../src/jobs/jobs.js';
import { MemoryQueue } from '../../src/jobs/memory.queue.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { MemoryRateLimiter } from '../../src/lib/memory.rate-limiter.js';
import type { Quote, QuoteSource } from '../../src/market/quote.js';
import { InstrumentService } from '../../src/services/instrument.service.js';
import { OrderExecutionService } from '../../src/services/orders/order-execution.service.js';
import { OrderService } from '../../src/services/orders/order.service.js';
import { PortfolioService } from '../../src/services/portfolio.service.js';
import { opened } from './open-resources.js';

/** Quotes the test sets by hand; nothing else moves them. */
export class FixedQuotes implements QuoteSource {
  private readonly quotes = new Map<string, Quote>();

  get(symbol: string, exchange: string): Quote | null {
    return this.quotes.get(`${exchange}:${symbol}`) ?? null;
  }

  onQuote(): () => void {
    return () => {};
  }

  set(symbol: string, exchange: string, bid: string, ask: string): void {
    this.quotes.set(`${exchange}:${symbol}`, {
      symbol,
      exchange,
      bid,
      ask,
      bidSize: null,
      askSize: null,
      last: bid,
      volume: null,
      timestamp: new Date(0).toISOString(),
    });
  }
}

/**
 * A broker that acknowledges every order as OPEN and reports no fills of its own: the test decides what
 * executes. It answers lookups honestly (an order it was given is found), so `submit` never double-places.
 */
export class AckingBroker implements BrokerAdapter {
  readonly name = 'paper';
  readonly rateLimit = { limit: 1_000_000, windowMs: 1000 };
  /** The paper broker's fee schedule, so buy holds are sized as in the product. */
  feeBound(currency: string, notional: string): string {
    return feeBound(DEFAULT_FEES, currency, notional).toFixed(2);
  }
  readonly placed: BrokerOrderRequest[] = [];
  private readonly byClientId = new Map<string, BrokerOrder>();

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    if (this.byClientId.has(req.clientOrderId)) throw new Error(`order ${req.clientOrderId} placed twice`);
    this.placed.push(req);
    const o: BrokerOrder = {
      brokerOrderId: `B-${req.clientOrderId}`,
      clientOrderId: req.clientOrderId,
      symbol: req.instrument.symbol,
      exchange: req.instrument.exchange,
      side: req.side,
      type: req.type,
      quantity: req.quantity,
      filledQuantity: '0',
      averagePrice: null,
      status: 'OPEN',
      updatedAt: new Date(0).toISOString(),
    };
    this.byClientId.set(req.clientOrderId, o);
    return o;
  }

  async cancelOrder(_account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const o = [...this.byClientId.values()].find((x) => x.brokerOrderId === brokerOrderId);
    if (!o) throw new Error(`no order ${brokerOrderId}`);
    return o;
  }

  async getOrder(_account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    if ('clientOrderId' in ref) return this.byClientId.get(ref.clientOrderId) ?? null;
    return [...this.byClientId.values()].find((x) => x.brokerOrderId === ref.brokerOrderId) ?? null;
  }

  async listOrders(): Promise<BrokerOrder[]> {
    return [...this.byClientId.values()];
  }

  async getFills(): Promise<BrokerFill[]> {
    return [];
  }

  async getPositions() {
    return [];
  }

  async getFunds(_account: string, currency = 'INR') {
    return { currency, cash: '0', available: '0' };
  }

  async getQuotes() {
    return [];
  }

  onEvent(): () => void {
    return () => {};
  }

  async close(): Promise<void> {}
}

export interface LedgerHarness {
  handle: DbHandle;
  db: Db;
  clock: ManualClock;
  quotes: FixedQuotes;
  broker: AckingBroker;
  queue: MemoryQueue<JobMap>;
  relay: OutboxRelay;
  instruments: InstrumentService;
  portfolios: PortfolioService;
  orders: OrderService;
  execution: OrderExecutionService;
  /** Seeded instruments by symbol (NSE, INR). */
  instrument(symbol: string): InstrumentRow;
  /** A fresh user and an empty INR portfolio of theirs at the 'paper' broker. */
  newAccount(): Promise<{ viewer: Principal; portfolioId: string }>;
  close(): Promise<void>;
}

/** Build the services once (PGlite start and migrations take seconds); make accounts per test case. */
export async function createLedgerHarness(opts: { maxOrderNotional?: string; databaseUrl?: string } = {}): Promise<LedgerHarness> {
  // PGlite in memory by default; a Postgres database (empty, the caller's to drop) when a URL is given.
  const handle = await openDb(opts.databaseUrl ? { url: opts.databaseUrl, poolSize: 4 } : { dataDir: 'memory://' });
  await migrate(handle);
  const seeded = await seedInstruments(handle.db);
  const bySymbol = new Map(seeded.filter((r) => r.exchange === 'NSE').map((r) => [r.symbol, r]));
  const db = handle.db;
  const clock = new ManualClock();
  const quotes = new FixedQuotes();
  const broker = new AckingBroker();
  const brokers = new BrokerRegistry().register(broker);
  const queue = new MemoryQueue<JobMap>({ name: `ledger-${randomUUID()}`, logger: silentLogger });
  const pubsub = new MemoryPubSub({ logger: silentLogger });
  const rateLimiter = new MemoryRateLimiter({ clock });
  const relay = new OutboxRelay({ db, pubsub, clock, logger: silentLogger });
  const instruments = new InstrumentService({ db, quotes });
  const portfolios = new PortfolioService({ db, clock, relay, instruments, brokers });
  const limits = { ordersPerSecond: 1_000_000, maxOrderNotional: opts.maxOrderNotional ?? '100000000' };
  const orders = new OrderService({ db, clock, logger: silentLogger, queue, relay, rateLimiter, instruments, portfolios, brokers, limits });
  const execution = new OrderExecutionService({ db, clock, logger: silentLogger, queue, relay, rateLimiter, brokers });

  const harness: LedgerHarness = {
    handle,
    db,
    clock,
    quotes,
    broker,
    queue,
    relay,
    instruments,
    portfolios,
    orders,
    execution,
    instrument(symbol) {
      const r = bySymbol.get(symbol);
      if (!r) throw new Error(`no seeded NSE instrument ${symbol}`);
      return r;
    },
    async newAccount() {
      const [u] = await db
        .insert(users)
        .values({ email: `ledger-${randomUUID()}@example.test`, passwordHash: 'not-a-hash' })
        .returning({ id: users.id });
      const viewer: Principal = { userId: u.id, role: 'CLIENT' };
      const p = await portfolios.create(viewer, { name: 'ledger property', baseCurrency: 'INR' });
      return { viewer, portfolioId: p.id };
    },
    async close() {
      await relay.stop();
      await queue.close();
      await pubsub.close();
      await handle.close();
      closed();
    },
  };
  const closed = opened(harness, `a ledger harness (${handle.kind})`);
  return harness;
}

type Row = Record<string, unknown>;

/** Rows of a raw query, whichever driver is behind `db`. */
export async function sqlRows<T extends Row = Row>(db: Db, q: ReturnType<typeof sql>): Promise<T[]> {
  const r = (await db.execute(q)) as unknown as { rows?: T[] } | T[];
  return Array.isArray(r) ? r : (r.rows ?? []);
}

/**
 * Everything a command could change in one portfolio, as comparable JSON: a rejected command must leave
 * it exactly as it was.
 */
export async function portfolioFingerprint(db: Db, portfolioId: string): Promise<string> {
  const [r] = await sqlRows(
    db,
    sql`select
          (select cash::text from portfolios where id = ${portfolioId}) as cash,
          (select event_sequence from portfolios where id = ${portfolioId}) as seq,
          (select count(*)::int from ledger_entries where portfolio_id = ${portfolioId}) as ledger_lines,
          (select count(*)::int from fills where portfolio_id = ${portfolioId}) as fills,
          (select count(*)::int from outbox_events where portfolio_id = ${portfolioId}) as events,
          (select coalesce(json_agg(json_build_object('id', id, 'amount', amount::text, 'released', released_at is not null) order by id), '[]'::json)
             from holds where portfolio_id = ${portfolioId}) as holds,
          (select coalesce(json_agg(json_build_object('id', id, 'status', status, 'filled', filled_quantity::text, 'avg', average_fill_price::text, 'fees', fees_paid::text) order by id), '[]'::json)
             from orders where portfolio_id = ${portfolioId}) as orders,
          (select coalesce(json_agg(json_build_object('i', instrument_id, 'q', quantity::text, 'avg', average_cost::text, 'pnl', realized_pnl::text) order by instrument_id), '[]'::json)
             from positions where portfolio_id = ${portfolioId}) as positions`,
  );
  return JSON.stringify(r);
}
