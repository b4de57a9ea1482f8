/**
 * Group commit of placements: many orders recorded in one transaction (placeOrdersInTx, which a basket
 * run can call in its own transaction) must give each order exactly what placing it alone would: risk
 * checked against the holds of the orders before it, one hold each, gap-free event sequences, each
 * order submitted once (a batch by ONE `submit-orders` job, an order alone by its `submit-order` job), and
 * a repeated clientOrderId answered with the first order.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { InsufficientFundsError, PermanentError } from '../src/errors.js';
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

/** The submit jobs `h.queue.add` is given while `run` runs: each job's name and the order ids it submits. */
interface SubmitJob {
  name: string;
  jobId?: string;
  orderIds: string[];
}

async function submitJobsOf<T>(run: () => Promise<T>): Promise<{ result: T; jobs: SubmitJob[] }> {
  const add = vi.spyOn(h.queue, 'add');
  try {
    const result = await run();
    const jobs = add.mock.calls.flatMap(([name, data, opts]): SubmitJob[] => {
      if (name === 'submit-order') return [{ name, jobId: opts?.jobId, orderIds: [(data as { orderId: string }).orderId] }];
      if (name === 'submit-orders') return [{ name, jobId: opts?.jobId, orderIds: (data as { orderIds: string[] }).orderIds }];
      return [];
    });
    return { result, jobs };
  } finally {
    add.mockRestore();
  }
}

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
    const { jobs } = await submitJobsOf(() => h.orders.announce(results));

    expect(results.map((r) => r.kind)).toEqual(['placed', 'placed', 'refused']);
    const placedIds = results.flatMap((r) => (r.kind === 'placed' ? [r.order.id] : []));
    // The batch's two placed orders go to the worker in ONE submit-orders job, keyed by the first order.
    expect(jobs).toEqual([{ name: 'submit-orders', jobId: `submit-batch-${placedIds[0]}`, orderIds: placedIds }]);
    expect((await h.queue.counts()).waiting - jobsBefore, 'one submit job for the batch').toBe(1);
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

  it('places concurrent orders of several portfolios, each once, each in exactly one submit job, with gap-free sequences', async () => {
    const accounts = await Promise.all([1, 2, 3].map(() => h.newAccount()));
    for (const a of accounts) await h.portfolios.deposit(a.viewer, a.portfolioId, '100000.00');
    const jobsBefore = (await h.queue.counts()).waiting;
    const { result: placed, jobs } = await submitJobsOf(() =>
      Promise.all(
        Array.from({ length: 24 }, (_, i) => {
          const a = accounts[i % 3];
          return h.orders.place(a.viewer, limitBuy(a.portfolioId, `concurrent-${i}`));
        }),
      ),
    );
    expect(new Set(placed.map((o) => o.id)).size).toBe(24);
    // Every order in exactly one job; orders committed together share one submit-orders job.
    expect(jobs.flatMap((j) => j.orderIds).sort()).toEqual(placed.map((o) => o.id).sort());
    for (const j of jobs) expect(j.name).toBe(j.orderIds.length === 1 ? 'submit-order' : 'submit-orders');
    expect(jobs.length, '24 orders arriving together are batched').toBeLessThan(24);
    expect((await h.queue.counts()).waiting - jobsBefore).toBe(jobs.length);
    for (const a of accounts) {
      // 1 deposit event, then 8 orders × 2 events.
      expect(await sequences(a.portfolioId)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
      const b = await h.portfolios.balances(a.portfolioId);
      expect(b.available.toFixed(2)).toBe('67990.40'); // 100,000 − 8 × 4,001.20
    }
  });

  it("submits a batch's orders with its one submit-orders job, each once at the broker however often the job runs", async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '100000.00');
    const inputs = (await Promise.all([1, 2, 3].map((i) => h.orders.prepare(viewer, limitBuy(portfolioId, `job-${i}`))))) as PreparedOrder[];
    const results = await h.db.transaction((tx) => placeOrdersInTx(tx, inputs, h.clock.now()));
    const { jobs } = await submitJobsOf(() => h.orders.announce(results));
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job.name).toBe('submit-orders');
    const attempt = { attemptsMade: 0, attempts: 6 };
    // The job as the worker runs it, then again (its worker died after the broker calls), and a third
    // time alongside a lone submit-order of one of its orders (a duplicate add): the broker sees each once.
    await h.execution.submitIds(job.orderIds, attempt);
    await h.execution.submitIds(job.orderIds, { attemptsMade: 1, attempts: 6 });
    await Promise.all([h.execution.submitIds(job.orderIds, { attemptsMade: 2, attempts: 6 }), h.execution.submit(job.orderIds[1], attempt)]);
    const atBroker = h.broker.placed.filter((r) => job.orderIds.includes(r.clientOrderId)).map((r) => r.clientOrderId);
    expect(atBroker.sort()).toEqual([...job.orderIds].sort());
    const rows = await sqlRows<{ id: string; status: string; broker_order_id: string }>(
      h.db,
      sql`select id, status, broker_order_id from orders where portfolio_id = ${portfolioId} order by id`,
    );
    expect(rows).toEqual([...job.orderIds].sort().map((id) => ({ id, status: 'OPEN', broker_order_id: `B-${id}` })));
  });

  it('fails a submit-orders job for good on an id with no order, after submitting the orders that exist', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '100000.00');
    const order = await h.orders.place(viewer, limitBuy(portfolioId, 'real'));
    const ghost = randomUUID();
    const run = h.execution.submitIds([ghost, order.id], { attemptsMade: 0, attempts: 6 });
    await expect(run).rejects.toBeInstanceOf(PermanentError);
    await expect(run).rejects.toThrow(ghost);
    const [row] = await sqlRows<{ status: string }>(h.db, sql`select status from orders where id = ${order.id}`);
    expect(row.status).toBe('OPEN');
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
