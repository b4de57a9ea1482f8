/**
 * What an order no longer waits for on its way to the broker (issue 7, latency): the submit job is
 * enqueued while the placement's events are being published, not after; a submit job calls the broker
 * without waiting for its SUBMITTING event's publish; and the broker's rate-limit permit is asked for
 * while the PENDING → SUBMITTING move commits, not after it. Each publish still happens, in order.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimiter } from '../src/lib/memory.rate-limiter.js';
import type { StoredEvent } from '../src/events/outbox.js';
import { placeOrdersInTx } from '../src/services/orders/order.placement.js';
import type { PlaceOrderRequest } from '../src/services/orders/order.validation.js';
import { createLedgerHarness, type LedgerHarness } from './support/ledger-harness.js';
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

/** Holds the relay's publishes whose events match `held` until `release()`; the rest go through. */
function gatePublishes(h: LedgerHarness, held: (e: StoredEvent) => boolean) {
  const original = h.relay.published.bind(h.relay);
  const log: string[] = [];
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const spy = vi.spyOn(h.relay, 'published').mockImplementation(async (events: StoredEvent[]) => {
    if (events.some(held)) {
      log.push('publish held');
      await gate;
    }
    await original(events);
    log.push(`published ${events.map((e) => `${e.message.type}:${String((e.message.payload.order as { status?: string } | undefined)?.status ?? '')}`).join(',')}`);
  });
  return { log, release: () => open(), restore: () => spy.mockRestore() };
}

describe.each(modes())('what an order no longer waits for, %s', (mode) => {
  let h: LedgerHarness;
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

  it('calls the broker without waiting for the SUBMITTING event to be published, and publishes it first all the same', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const order = await h.orders.place(viewer, limitBuy(portfolioId, 'submit-1'));
    const gate = gatePublishes(h, (e) => (e.message.payload.order as { status?: string } | undefined)?.status === 'SUBMITTING');
    const placedBefore = h.broker.placed.length;
    const submitted = h.execution.submit(order.id, { attemptsMade: 0, attempts: 5 });
    await vi.waitFor(() => expect(h.broker.placed.length - placedBefore).toBe(1));
    expect(h.broker.placed.at(-1)?.clientOrderId).toBe(order.id);
    expect(gate.log[0]).toBe('publish held');
    gate.release();
    await submitted;
    await vi.waitFor(() => expect(gate.log.filter((l) => l.startsWith('published'))).toHaveLength(2));
    // Same process, same order on the wire: SUBMITTING before OPEN (a subscriber's stream would hold OPEN for it anyway).
    const published = gate.log.filter((l) => l.startsWith('published'));
    expect(published[0]).toContain('ORDER_UPDATED:SUBMITTING');
    expect(published[1]).toContain('ORDER_UPDATED:OPEN');
  });

  it('asks for the broker permit before the PENDING → SUBMITTING move has committed', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const order = await h.orders.place(viewer, limitBuy(portfolioId, 'permit-1'));
    const steps: string[] = [];
    const acquire = MemoryRateLimiter.prototype.tryAcquire;
    vi.spyOn(MemoryRateLimiter.prototype, 'tryAcquire').mockImplementation(function (this: MemoryRateLimiter, ...args: Parameters<typeof acquire>) {
      steps.push(`permit ${args[0].split(':')[0]}`);
      return acquire.apply(this, args);
    });
    const original = h.relay.published.bind(h.relay);
    vi.spyOn(h.relay, 'published').mockImplementation((events: StoredEvent[]) => {
      for (const e of events) steps.push(`committed ${String((e.message.payload.order as { status?: string } | undefined)?.status)}`);
      return original(events);
    });
    await h.execution.submit(order.id, { attemptsMade: 0, attempts: 5 });
    expect(steps.filter((s) => s === 'permit broker' || s.startsWith('committed ')).slice(0, 2)).toEqual(['permit broker', 'committed SUBMITTING']);
  });
});
