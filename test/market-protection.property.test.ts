/**
 * "Cash never below zero" with the real paper exchange: random deposits, buys (market, stop, limit,
 * stop-limit; often sized to take every rupee of available cash), sells, cancels and quotes that jump
 * anywhere, gaps far above a market order's protection price included (fast-check model-based testing).
 *
 * The test plays the worker: it submits through OrderExecutionService, drives the exchange with
 * `matchQuote`, and hands the exchange's events to `applyFill` / `sync` as the worker's jobs would. After
 * every command: cash ≥ 0, available cash ≥ 0, cash = ledger, no fill of a protected buy above its
 * protection price, no order spent more than its hold released, and finished orders hold nothing.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../src/brokers/broker.js';
import { PaperBroker } from '../src/brokers/paper/paper.broker.js';
import { BrokerRegistry } from '../src/brokers/registry.js';
import type { Principal } from '../src/auth/tokens.js';
import { migrate, openDb, type Db, type DbHandle } from '../src/db/client.js';
import { users } from '../src/db/schema/index.js';
import { seedInstruments } from '../src/db/seed/instruments.js';
import { MemoryPubSub } from '../src/events/memory.pubsub.js';
import { OutboxRelay } from '../src/events/outbox.js';
import type { JobMap } from '../src/jobs/jobs.js';
import { MemoryQueue } from '../src/jobs/memory.queue.js';
import { ManualClock } from '../src/lib/clock.js';
import { dec, Decimal } from '../src/lib/decimal.js';
import { silentLogger } from '../src/lib/logger.js';
import { MemoryRateLimiter } from '../src/lib/memory.rate-limiter.js';
import { InstrumentService } from '../src/services/instrument.service.js';
import { OrderExecutionService } from '../src/services/orders/order-execution.service.js';
import { OrderService } from '../src/services/orders/order.service.js';
import { PortfolioService } from '../src/services/portfolio.service.js';
import { InsufficientFundsError, InsufficientQuantityError, InvalidOrderStateError } from '../src/errors.js';
import { ManualQuoteSource } from './brokers/manual-quote-source.js';
import { sqlRows } from './support/ledger-harness.js';
import { assertLedgerInvariants } from './support/trading.js';

const NUM_RUNS = Number(process.env.PROTECTION_RUNS ?? 20);
const SYMBOLS = ['RELIANCE', 'ITC'] as const;
type Sym = (typeof SYMBOLS)[number];

interface World {
  handle: DbHandle;
  db: Db;
  clock: ManualClock;
  quotes: ManualQuoteSource;
  broker: PaperBroker;
  orders: OrderService;
  portfolios: PortfolioService;
  execution: OrderExecutionService;
  events: BrokerEvent[];
  tick: Record<Sym, Decimal>;
  close(): Promise<void>;
}

async function createWorld(): Promise<World> {
  const handle = await openDb({ dataDir: 'memory://' });
  await migrate(handle);
  const seeded = await seedInstruments(handle.db);
  const db = handle.db;
  const clock = new ManualClock();
  const quotes = new ManualQuoteSource();
  const broker = new PaperBroker({ db, quotes, clock, logger: silentLogger, matching: false });
  const brokers = new BrokerRegistry().register(broker);
  const queue = new MemoryQueue<JobMap>({ name: `protection-${randomUUID()}`, logger: silentLogger });
  const pubsub = new MemoryPubSub({ logger: silentLogger });
  const rateLimiter = new MemoryRateLimiter({ clock });
  const relay = new OutboxRelay({ db, pubsub, clock, logger: silentLogger });
  const instruments = new InstrumentService({ db, quotes });
  const portfolios = new PortfolioService({ db, clock, relay, instruments, brokers });
  const limits = { ordersPerSecond: 1_000_000, maxOrderNotional: '100000000' };
  const orders = new OrderService({ db, clock, logger: silentLogger, queue, relay, rateLimiter, instruments, portfolios, brokers, limits });
  const execution = new OrderExecutionService({ db, clock, logger: silentLogger, queue, relay, rateLimiter, brokers });
  const events: BrokerEvent[] = [];
  broker.onEvent((e) => events.push(e));
  const tick = {} as Record<Sym, Decimal>;
  for (const s of SYMBOLS) tick[s] = dec(seeded.find((r) => r.exchange === 'NSE' && r.symbol === s)!.tickSize);
  return {
    handle,
    db,
    clock,
    quotes,
    broker,
    orders,
    portfolios,
    execution,
    events,
    tick,
    async close() {
      await broker.close();
      await relay.stop();
      await queue.close();
      await pubsub.close();
      await handle.close();
    },
  };
}

/** The worker's part: every exchange event becomes an apply-fill or a sync, in the order emitted. */
async function drain(w: World): Promise<void> {
  while (w.events.length) {
    const e = w.events.shift()!;
    if (e.kind === 'fill') await w.execution.applyFill(e.fill.clientOrderId, e.fill);
    else if (['CANCELED', 'EXPIRED', 'REJECTED'].includes(e.order.status)) await w.execution.sync(e.order.clientOrderId);
  }
}

interface Model {
  viewer: Principal;
  portfolioId: string;
  /** Last ask per symbol (bid = ask − 1 tick). */
  ask: Record<Sym, Decimal>;
  orders: { id: string; hold: Decimal }[];
}

interface Real {
  w: World;
}

function setQuote(w: World, m: Model, s: Sym, ask: Decimal, askSize: string | null) {
  m.ask[s] = ask;
  const bid = ask.sub(w.tick[s]);
  return w.quotes.set(s, 'NSE', { bid: bid.toFixed(), ask: ask.toFixed(), last: ask.toFixed(), askSize, bidSize: null });
}

async function check(m: Model, w: World): Promise<void> {
  await assertLedgerInvariants(w.db, m.portfolioId);
  const b = await w.portfolios.balances(m.portfolioId);
  expect(b.cash.gte(0), `cash ${b.cash.toFixed()} ≥ 0`).toBe(true);
  expect(b.available.gte(0), `available ${b.available.toFixed()} ≥ 0`).toBe(true);
  const rows = await sqlRows<{ id: string; status: string; protection: string | null; max_price: string | null; spent: string; open_hold: string; open_holds: number }>(
    w.db,
    sql`select o.id, o.status, o.protection_price::text as protection,
               (select max(price)::text from fills where order_id = o.id) as max_price,
               coalesce((select sum(quantity * price + fee) from fills where order_id = o.id), 0)::text as spent,
               coalesce((select sum(amount) from holds where order_id = o.id and released_at is null), 0)::text as open_hold,
               (select count(*)::int from holds where order_id = o.id and released_at is null) as open_holds
        from orders o where o.portfolio_id = ${m.portfolioId} and o.side = 'BUY'`,
  );
  for (const r of rows) {
    const placed = m.orders.find((o) => o.id === r.id)!;
    if (r.protection && r.max_price) expect(dec(r.max_price).lte(r.protection), `order ${r.id} filled at ${r.max_price} > protection ${r.protection}`).toBe(true);
    // What the order spent never exceeds what its hold gave back: the hold covered every fill.
    const released = placed.hold.sub(r.open_hold);
    expect(dec(r.spent).lte(released), `order ${r.id} (${r.status}) spent ${r.spent} > released ${released.toFixed()}`).toBe(true);
    if (['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED'].includes(r.status)) expect(r.open_holds, `finished ${r.id} holds nothing`).toBe(0);
  }
}

abstract class Cmd implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    r.w.clock.advance(1000);
    await this.apply(m, r.w);
    await drain(r.w);
    await check(m, r.w);
  }
  protected abstract apply(m: Model, w: World): Promise<void>;
  abstract toString(): string;
}

class Deposit extends Cmd {
  constructor(readonly rupees: number) {
    super();
  }
  protected async apply(m: Model, w: World) {
    await w.portfolios.deposit(m.viewer, m.portfolioId, `${this.rupees}.00`);
  }
  toString() {
    return `deposit(${this.rupees})`;
  }
}

type BuyType = 'MARKET' | 'STOP' | 'LIMIT' | 'STOP_LIMIT';

class Buy extends Cmd {
  constructor(readonly s: { symbol: Sym; type: BuyType; qty: number | 'max'; ticks: number; submit: boolean }) {
    super();
  }
  protected async apply(m: Model, w: World) {
    const { symbol, type } = this.s;
    const tick = w.tick[symbol];
    const ask = m.ask[symbol];
    const off = tick.mul(this.s.ticks);
    const stopPrice = type === 'STOP' || type === 'STOP_LIMIT' ? ask.add(off.abs()).add(tick) : null;
    const limitPrice = type === 'LIMIT' ? Decimal.max(tick, ask.add(off)) : type === 'STOP_LIMIT' ? stopPrice!.add(off.abs()) : null;
    let qty = typeof this.s.qty === 'number' ? dec(this.s.qty) : dec(0);
    if (this.s.qty === 'max') {
      // As many shares as available cash allows at the reservation price (fee bound aside): often
      // refused by a hair, often taking the last rupee.
      const per = limitPrice ?? Decimal.max(ask, stopPrice ?? 0).mul('1.05');
      qty = Decimal.max(1, (await w.portfolios.balances(m.portfolioId)).available.div(per.mul('1.0004')).floor());
    }
    const req = {
      portfolioId: m.portfolioId,
      symbol,
      exchange: 'NSE',
      side: 'BUY' as const,
      type,
      quantity: qty.toFixed(),
      limitPrice: limitPrice?.toFixed() ?? null,
      stopPrice: stopPrice?.toFixed() ?? null,
    };
    const o = await w.orders.place(m.viewer, req).catch((e: unknown) => {
      if (e instanceof InsufficientFundsError) return null;
      throw e;
    });
    if (!o) return;
    const [h] = await sqlRows<{ amount: string }>(w.db, sql`select amount::text from holds where order_id = ${o.id}`);
    m.orders.push({ id: o.id, hold: dec(h.amount) });
    if (this.s.submit) await w.execution.submit(o.id, { attemptsMade: 0, attempts: 6 });
  }
  toString() {
    return `buy(${this.s.type} ${this.s.qty} ${this.s.symbol} ${this.s.ticks}t${this.s.submit ? ', submitted' : ''})`;
  }
}

class Sell extends Cmd {
  constructor(readonly s: { symbol: Sym; qty: number }) {
    super();
  }
  protected async apply(m: Model, w: World) {
    const req = { portfolioId: m.portfolioId, symbol: this.s.symbol, exchange: 'NSE', side: 'SELL' as const, type: 'MARKET' as const, quantity: String(this.s.qty) };
    const o = await w.orders.place(m.viewer, req).catch((e: unknown) => {
      if (e instanceof InsufficientQuantityError) return null;
      throw e;
    });
    if (o) await w.execution.submit(o.id, { attemptsMade: 0, attempts: 6 });
  }
  toString() {
    return `sell(MARKET ${this.s.qty} ${this.s.symbol})`;
  }
}

/** Submit every order still PENDING (placed while the market moved on). */
class SubmitAll extends Cmd {
  protected async apply(m: Model, w: World) {
    for (const o of m.orders) await w.execution.submit(o.id, { attemptsMade: 0, attempts: 6 });
  }
  toString() {
    return 'submitAll()';
  }
}

class Cancel extends Cmd {
  constructor(readonly index: number) {
    super();
  }
  protected async apply(m: Model, w: World) {
    if (!m.orders.length) return;
    const o = m.orders[this.index % m.orders.length];
    const c = await w.orders.cancel(m.viewer, o.id).catch((e: unknown) => {
      if (e instanceof InvalidOrderStateError) return null;
      throw e;
    });
    if (c?.status === 'CANCEL_REQUESTED') await w.execution.cancelAtBroker(o.id);
  }
  toString() {
    return `cancel(#${this.index})`;
  }
}

/** The market moves by `permille` of the ask (a gap of up to ×4 either way), with a size or none. */
class Move extends Cmd {
  constructor(readonly s: { symbol: Sym; permille: number; askSize: number | null }) {
    super();
  }
  protected async apply(m: Model, w: World) {
    const tick = w.tick[this.s.symbol];
    const next = Decimal.max(tick.mul(2), m.ask[this.s.symbol].mul(this.s.permille).div(1000).div(tick).floor().mul(tick));
    const q = setQuote(w, m, this.s.symbol, next, this.s.askSize === null ? null : String(this.s.askSize));
    await w.broker.matchQuote(q);
  }
  toString() {
    return `move(${this.s.symbol} ×${this.s.permille / 1000}${this.s.askSize === null ? '' : `, size ${this.s.askSize}`})`;
  }
}

const sym = fc.constantFrom(...SYMBOLS);
const commands = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 500_000 }).map((r) => new Deposit(r)), weight: 1 },
  {
    arbitrary: fc
      .record({
        symbol: sym,
        type: fc.constantFrom<BuyType>('MARKET', 'STOP', 'LIMIT', 'STOP_LIMIT'),
        qty: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 40 }), weight: 1 }, { arbitrary: fc.constant<'max'>('max'), weight: 2 }),
        ticks: fc.integer({ min: -5, max: 5 }),
        submit: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
      })
      .map((s) => new Buy(s)),
    weight: 5,
  },
  { arbitrary: fc.record({ symbol: sym, qty: fc.integer({ min: 1, max: 20 }) }).map((s) => new Sell(s)), weight: 1 },
  { arbitrary: fc.constant(new SubmitAll()), weight: 1 },
  { arbitrary: fc.nat({ max: 100 }).map((i) => new Cancel(i)), weight: 1 },
  {
    arbitrary: fc
      .record({
        symbol: sym,
        // Mostly small moves; often gaps of +5 % to ×4 (beyond any protection) and falls to ÷4.
        permille: fc.oneof({ arbitrary: fc.integer({ min: 980, max: 1020 }), weight: 3 }, { arbitrary: fc.integer({ min: 1040, max: 4000 }), weight: 2 }, { arbitrary: fc.integer({ min: 250, max: 970 }), weight: 1 }),
        askSize: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 30 })),
      })
      .map((s) => new Move(s)),
    weight: 5,
  },
);

describe('market protection: fills at any price never take cash below zero', () => {
  let w: World;

  beforeAll(async () => {
    w = await createWorld();
  });

  afterAll(async () => {
    await w?.close();
  });

  it('keeps cash and available cash ≥ 0, fills within protection, spending within holds, under gaps of any size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1_000, max: 200_000 }), fc.commands([commands], { maxCommands: 30, size: 'max' }), async (opening, cmds) => {
        const setup = async () => {
          const [u] = await w.db.insert(users).values({ email: `prot-${randomUUID()}@example.test`, passwordHash: 'x' }).returning({ id: users.id });
          const viewer: Principal = { userId: u.id, role: 'CLIENT' };
          const p = await w.portfolios.create(viewer, { name: 'protection property', baseCurrency: 'INR' });
          await w.portfolios.deposit(viewer, p.id, `${opening}.00`);
          const model: Model = { viewer, portfolioId: p.id, ask: { RELIANCE: dec('1545.70'), ITC: dec('404.90') }, orders: [] };
          for (const s of SYMBOLS) setQuote(w, model, s, model.ask[s], null);
          return { model, real: { w } };
        };
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: NUM_RUNS },
    );
  }, 120_000);

  it('a market buy whose price gaps above its protection before it reaches the exchange is canceled, its hold released whole', async () => {
    const [u] = await w.db.insert(users).values({ email: `gap-${randomUUID()}@example.test`, passwordHash: 'x' }).returning({ id: users.id });
    const viewer: Principal = { userId: u.id, role: 'CLIENT' };
    const p = await w.portfolios.create(viewer, { name: 'gap', baseCurrency: 'INR' });
    await w.portfolios.deposit(viewer, p.id, '1000.00');
    const model: Model = { viewer, portfolioId: p.id, ask: { RELIANCE: dec('1545.70'), ITC: dec('400.00') }, orders: [] };
    setQuote(w, model, 'ITC', dec('400.00'), null);
    // 2 × 400 × 1.05 = 840 (+ fee bound 0.26): protection 420.00.
    const o = await w.orders.place(viewer, { portfolioId: p.id, symbol: 'ITC', exchange: 'NSE', side: 'BUY', type: 'MARKET', quantity: '2' });
    expect(o.protectionPrice).toBe('420.00000000');
    setQuote(w, model, 'ITC', dec('420.05'), null); // one tick beyond
    await w.execution.submit(o.id, { attemptsMade: 0, attempts: 6 });
    await drain(w);
    const after = await w.orders.get(viewer, o.id);
    expect([after.status, after.filledQuantity, after.rejectReason]).toEqual(['CANCELED', '0.00000000', 'MARKET_PROTECTION']);
    const b = await w.portfolios.balances(p.id);
    expect([b.cash.toFixed(2), b.available.toFixed(2)]).toEqual(['1000.00', '1000.00']);
  });
});
