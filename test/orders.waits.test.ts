/**
 * What an order no longer waits for on its way to the broker (issue 7, latency): the submit job is
 * enqueued while the placement's events are being published, not after; a submit job calls the broker
 * without waiting for its SUBMITTING event's publish (which leaves with the acknowledgement's); and the broker's rate-limit permit is asked for
 * while the PENDING → SUBMITTING move commits, not after it. A batch's publish (and a placement's job add)
 * no longer holds the batch's group-commit slot, so the next batch commits meanwhile. Each publish still
 * happens, in order.
 */
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimiter } from '../src/lib/memory.rate-limiter.js';
import { silentLogger } from '../src/lib/logger.js';
import { BrokerRegistry } from '../src/brokers/registry.js';
import type { BrokerAdapter } from '../src/brokers/broker.js';
import { OrderExecutionService } from '../src/services/orders/order-execution.service.js';
import type { StoredEvent } from '../src/events/outbox.js';
import { orderIn } from '../src/events/topics.js';
import { placeOrdersInTx } from '../src/services/orders/order.placement.js';
import type { PlaceOrderRequest } from '../src/services/orders/order.validation.js';
import { createLedgerHarness, sqlRows, type LedgerHarness } from './support/ledger-harness.js';
import { modes } from './support/env.js';
import { createTestDatabase } from './support/server.js';

const limitBuy = (portfolioId: string, clientOrderId: string): PlaceOrderRequest => ({
  portfolioId,
  symbol: 'RELIANCE',
  side: 'BUY',
  type: 'LIMIT',
  quantity: '1',
  limitPrice: '400.00',
  clientOrderId,
});

/**
 * Holds the completion of the relay's publishes whose events match `held` until `release()` (a slow Redis
 * round trip): the publish itself is issued at once, as the relay issues it, and `issued` records that
 * order (the order on the wire). The rest go through.
 */
/** Calls `seen` with the key of every permit asked of a MemoryRateLimiter (the spy is restored after each test). */
function recordPermits(seen: (key: string) => void) {
  const acquire = MemoryRateLimiter.prototype.tryAcquire;
  vi.spyOn(MemoryRateLimiter.prototype, 'tryAcquire').mockImplementation(function (this: MemoryRateLimiter, ...args: Parameters<typeof acquire>) {
    seen(args[0]);
    return acquire.apply(this, args);
  });
}

function gatePublishes(h: LedgerHarness, held: (e: StoredEvent) => boolean) {
  const original = h.relay.published.bind(h.relay);
  const log: string[] = [];
  const issued: string[] = [];
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const label = (events: StoredEvent[]) => events.map((e) => `${e.message.type}:${orderIn(e.message)?.status ?? ''}`).join(',');
  const spy = vi.spyOn(h.relay, 'published').mockImplementation(async (events: StoredEvent[]) => {
    issued.push(label(events));
    const done = original(events);
    if (events.some(held)) {
      log.push('publish held');
      await gate;
    }
    await done;
    log.push(`published ${label(events)}`);
  });
  return { log, issued, release: () => open(), restore: () => spy.mockRestore() };
}

describe.each(modes())('what an order no longer waits for, %s', (mode) => {
  let h: LedgerHarness;
  /** The harness's order loop with its own hold of SUBMITTING events (held-events.ts) and broker. */
  const execution = (holdSubmittingMs?: number, broker: BrokerAdapter = h.broker) =>
    new OrderExecutionService({
      db: h.db,
      clock: h.clock,
      logger: silentLogger,
      queue: h.queue,
      relay: h.relay,
      rateLimiter: new MemoryRateLimiter({ clock: h.clock }),
      brokers: new BrokerRegistry().register(broker),
      holdSubmittingMs,
    });
  let dropDb: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const pg = mode === 'scaled' ? await createTestDatabase() : undefined;
    dropDb = pg?.drop;
    h = await createLedgerHarness({ databaseUrl: pg?.url });
    h.quotes.set('RELIANCE', 'NSE', '399.95', '400.00');
  });
  afterAll(async () => {
    await h?.close();
    await dropDb?.();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('enqueues the submit job of a placement while its events are still being published', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const prepared = await h.orders.prepare(viewer, limitBuy(portfolioId, 'enqueue-1'));
    if ('replay' in prepared) throw new Error('unexpected replay');
    const results = await h.db.transaction((tx) => placeOrdersInTx(tx, [prepared], h.clock.now()));
    const gate = gatePublishes(h, () => true);
    const waitingBefore = (await h.queue.counts()).waiting;
    const announced = h.orders.announce(results);
    // The job is there although the publish has not finished.
    await vi.waitFor(async () => expect((await h.queue.counts()).waiting - waitingBefore).toBe(1));
    expect(gate.log).toEqual(['publish held']);
    gate.release();
    await announced;
    expect(gate.log).toEqual(['publish held', 'published ORDER_UPDATED:PENDING,BALANCE_CHANGED:']);
  });

  it('calls the broker before the SUBMITTING event is published, and publishes it with the acknowledgement, first', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const order = await h.orders.place(viewer, limitBuy(portfolioId, 'submit-1'));
    const gate = gatePublishes(h, () => false);
    // What had been handed to the relay when the broker was called.
    let issuedAtBroker: string[] | null = null;
    const place = h.broker.placeOrder.bind(h.broker);
    vi.spyOn(h.broker, 'placeOrder').mockImplementation((req) => {
      issuedAtBroker = [...gate.issued];
      return place(req);
    });
    // A hold longer than any acknowledgement here, so the loaded machine cannot make it publish alone.
    await execution(60_000).submit(order.id, { attemptsMade: 0, attempts: 5 });
    expect(issuedAtBroker).toEqual([]);
    // One publish for both moves (one Redis message per portfolio), SUBMITTING first: held-events.ts.
    await vi.waitFor(() => expect(gate.log.filter((l) => l.startsWith('published'))).toHaveLength(1));
    expect(gate.issued).toEqual(['ORDER_UPDATED:SUBMITTING,ORDER_UPDATED:OPEN']);
  });

  it('publishes a SUBMITTING event alone once its acknowledgement is late', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const order = await h.orders.place(viewer, limitBuy(portfolioId, 'submit-late'));
    const gate = gatePublishes(h, () => false);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const place = h.broker.placeOrder.bind(h.broker);
    vi.spyOn(h.broker, 'placeOrder').mockImplementation(async (req) => {
      await slow; // a broker slower than the hold
      return place(req);
    });
    const submitted = execution(20).submit(order.id, { attemptsMade: 0, attempts: 5 });
    await vi.waitFor(() => expect(gate.issued).toEqual(['ORDER_UPDATED:SUBMITTING']));
    release();
    await submitted;
    await vi.waitFor(() => expect(gate.issued).toEqual(['ORDER_UPDATED:SUBMITTING', 'ORDER_UPDATED:OPEN']));
  });

  it('asks for the broker permit before the PENDING → SUBMITTING move has committed', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const order = await h.orders.place(viewer, limitBuy(portfolioId, 'permit-1'));
    const steps: string[] = [];
    recordPermits((key) => steps.push(`permit ${key.split(':')[0]}`));
    const original = h.relay.published.bind(h.relay);
    vi.spyOn(h.relay, 'published').mockImplementation((events: StoredEvent[]) => {
      for (const e of events) steps.push(`committed ${String(orderIn(e.message)?.status)}`);
      return original(events);
    });
    await h.execution.submit(order.id, { attemptsMade: 0, attempts: 5 });
    expect(steps.filter((s) => s === 'permit broker' || s.startsWith('committed ')).slice(0, 2)).toEqual(['permit broker', 'committed SUBMITTING']);
  });

  it('asks no permit of the shared limiter for a broker that never throttles (the paper exchange)', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const order = await h.orders.place(viewer, limitBuy(portfolioId, 'permit-free'));
    const keys: string[] = [];
    recordPermits((key) => keys.push(key));
    const unthrottled = new Proxy(h.broker, { get: (b, k) => (k === 'unthrottled' ? true : Reflect.get(b, k, b)) });
    await execution(undefined, unthrottled).submit(order.id, { attemptsMade: 0, attempts: 5 });
    expect(h.broker.placed.map((r) => r.clientOrderId)).toContain(order.id);
    expect(keys.filter((k) => k.startsWith('broker:'))).toEqual([]);
  });

  it('commits later placement batches while an earlier batch is still being announced', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const gate = gatePublishes(h, () => true);
    const committed = async () =>
      (await sqlRows<{ n: number }>(h.db, sql`select count(*)::int as n from orders where portfolio_id = ${portfolioId}`))[0].n;
    // Three batches one after the other (each starts once the one before has committed), while none of
    // their announcements can finish: an announcement does not hold the batch's slot (maxInFlight), so
    // each commits all the same.
    const placing: Promise<unknown>[] = [];
    for (const i of [1, 2, 3]) {
      placing.push(h.orders.place(viewer, limitBuy(portfolioId, `slot-${i}`)));
      await vi.waitFor(async () => expect(await committed()).toBe(i), { timeout: 5000 });
    }
    expect(gate.log.filter((l) => l === 'publish held')).toHaveLength(3);
    gate.release();
    const orders = await Promise.all(placing);
    expect(orders).toHaveLength(3);
    expect(gate.log.filter((l) => l.startsWith('published'))).toHaveLength(3);
  });

  it('ends a submit job once its acknowledgement has committed, while the OPEN event is still being published', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const order = await h.orders.place(viewer, limitBuy(portfolioId, 'ack-1'));
    const gate = gatePublishes(h, (e) => orderIn(e.message)?.status === 'OPEN');
    let ended = false;
    const submitted = h.execution.submit(order.id, { attemptsMade: 0, attempts: 5 }).then(() => (ended = true));
    await vi.waitFor(() => expect(ended).toBe(true), { timeout: 5000 });
    const [row] = await sqlRows<{ status: string }>(h.db, sql`select status from orders where id = ${order.id}`);
    expect(row.status).toBe('OPEN');
    expect(gate.log.some((l) => l.includes('ORDER_UPDATED:OPEN'))).toBe(false);
    gate.release();
    await submitted;
    await vi.waitFor(() => expect(gate.log.some((l) => l.includes('ORDER_UPDATED:OPEN'))).toBe(true));
  });
});
