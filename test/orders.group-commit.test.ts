/**
 * Group commit of placements: many orders recorded in one transaction (placeOrdersInTx, which a basket
 * run can call in its own transaction) must give each order exactly what placing it alone would: risk
 * checked against the holds of the orders before it, one hold each, gap-free event sequences, one
 * submit job each, and a repeated clientOrderId answered with the first order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { InsufficientFundsError } from '../src/errors.js';
import { placeOrdersInTx, type PreparedOrder } from '../src/services/orders/order.placement.js';
import type { PlaceOrderRequest } from '../src/services/orders/order.validation.js';
import { createLedgerHarness, sqlRows, type LedgerHarness } from './support/ledger-harness.js';
import { modes } from './support/env.js';
import { createTestDatabase } from './support/server.js';

let h: LedgerHarness;

const limitBuy = (portfolioId: string, clientOrderId?: string): PlaceOrderRequest => ({
  portfolioId,
  symbol: 'RELIANCE',
  side: 'BUY',
  type: 'LIMIT',
  quantity: '10',
  limitPrice: '400.00',
  clientOrderId,
});

async function sequences(portfolioId: string): Promise<number[]> {
  const rows = await sqlRows<{ sequence: number }>(h.db, sql`select sequence from outbox_events where portfolio_id = ${portfolioId} order by sequence`);
  return rows.map((r) => Number(r.sequence));
}

describe.each(modes())('placing orders together (group commit), %s', (mode) => {
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

  it('records a batch in one transaction, refusing alone the buy that the earlier holds leave no cash for', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    // Each holds 4,000.00 plus the fee bound (3 bps = 1.20): two fit in 10,000, the third does not.
    const prepared = await Promise.all([1, 2, 3].map((i) => h.orders.prepare(viewer, limitBuy(portfolioId, `batch-${i}`))));
    const inputs = prepared.map((p) => {
      if ('replay' in p) throw new Error('unexpected replay');
      return p;
    });
    expect(inputs[0].reserve.toFixed(2)).toBe('4001.20');
    const jobsBefore = (await h.queue.counts()).waiting;
    const results = await h.db.transaction((tx) => placeOrdersInTx(tx, inputs, h.clock.now()));
    await h.orders.announce(results);

    expect(results.map((r) => r.kind)).toEqual(['placed', 'placed', 'refused']);
    expect((await h.queue.counts()).waiting - jobsBefore, 'one submit job per placed order').toBe(2);
    const refused = results[2];
    expect(refused.kind === 'refused' && refused.error).toBeInstanceOf(InsufficientFundsError);
    const b = await h.portfolios.balances(portfolioId);
    expect(b.cash.toFixed(2)).toBe('10000.00');
    expect(b.available.toFixed(2)).toBe('1997.60');
    const [counts] = await sqlRows<{ orders: number; holds: number }>(
      h.db,
      sql`select (select count(*)::int from orders where portfolio_id = ${portfolioId}) as orders,
                 (select count(*)::int from holds where portfolio_id = ${portfolioId} and released_at is null) as holds`,
    );
    expect(counts).toEqual({ orders: 2, holds: 2 });
    // The deposit was event 1; each placed buy adds ORDER_UPDATED and BALANCE_CHANGED, numbered in order.
    expect(await sequences(portfolioId)).toEqual([1, 2, 3, 4, 5]);
    const placed = results.flatMap((r) => (r.kind === 'placed' ? r.events.map((e) => [e.message.sequence, e.message.type]) : []));
    expect(placed).toEqual([
      [2, 'ORDER_UPDATED'],
      [3, 'BALANCE_CHANGED'],
      [4, 'ORDER_UPDATED'],
      [5, 'BALANCE_CHANGED'],
    ]);
    const second = results[1];
    expect(second.kind === 'placed' && second.events[1].message.payload).toMatchObject({ availableCash: '1997.60' });
  });

  it('places concurrent orders of several portfolios, each once, with its own submit job and gap-free sequences', async () => {
    const accounts = await Promise.all([1, 2, 3].map(() => h.newAccount()));
    for (const a of accounts) await h.portfolios.deposit(a.viewer, a.portfolioId, '100000.00');
    const jobsBefore = (await h.queue.counts()).waiting;
    const placed = await Promise.all(
      Array.from({ length: 24 }, (_, i) => {
        const a = accounts[i % 3];
        return h.orders.place(a.viewer, limitBuy(a.portfolioId, `concurrent-${i}`));
      }),
    );
    expect(new Set(placed.map((o) => o.id)).size).toBe(24);
    expect((await h.queue.counts()).waiting - jobsBefore).toBe(24);
    for (const a of accounts) {
      // 1 deposit event, then 8 orders × 2 events.
      expect(await sequences(a.portfolioId)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
      const b = await h.portfolios.balances(a.portfolioId);
      expect(b.available.toFixed(2)).toBe('67990.40'); // 100,000 − 8 × 4,001.20
    }
  });

  it('answers a clientOrderId repeated in the same batch with the first order, placing it once', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '100000.00');
    const [a, b] = await Promise.all([h.orders.place(viewer, limitBuy(portfolioId, 'twice')), h.orders.place(viewer, limitBuy(portfolioId, 'twice'))]);
    expect(b.id).toBe(a.id);
    const [n] = await sqlRows<{ n: number }>(h.db, sql`select count(*)::int as n from orders where portfolio_id = ${portfolioId}`);
    expect(n.n).toBe(1);
    expect((await h.portfolios.balances(portfolioId)).available.toFixed(2)).toBe('95998.80');
  });

  it('writes nothing for a refused input and leaves the rest of its batch intact', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '5000.00');
    const other = await h.newAccount();
    await h.portfolios.deposit(other.viewer, other.portfolioId, '5000.00');
    const p1 = (await h.orders.prepare(viewer, limitBuy(portfolioId, 'a'))) as PreparedOrder;
    const p2 = (await h.orders.prepare(viewer, limitBuy(portfolioId, 'b'))) as PreparedOrder;
    const p3 = (await h.orders.prepare(other.viewer, limitBuy(other.portfolioId, 'c'))) as PreparedOrder;
    const results = await h.db.transaction((tx) => placeOrdersInTx(tx, [p1, p2, p3], h.clock.now()));
    expect(results.map((r) => r.kind)).toEqual(['placed', 'refused', 'placed']);
    expect(await sequences(portfolioId)).toEqual([1, 2, 3]);
    expect(await sequences(other.portfolioId)).toEqual([1, 2, 3]);
  });
});
