/**
 * What placing one order costs the api, and that the cuts keep every promise: the `order.placed` audit
 * entry is written by the placement's own transaction (one transaction per order alone, not two, and the
 * entry commits or rolls back with the order), a repeated clientOrderId is found by that transaction
 * (before any risk check, and never refused by the rate limit), and an owner's portfolio facts, kept
 * after the first order, never let anyone else trade in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import type { Db } from '../src/db/client.js';
import { ForbiddenError, IdempotencyConflictError, InsufficientFundsError, NotFoundError, RateLimitedError } from '../src/errors.js';
import { silentLogger } from '../src/lib/logger.js';
import { MemoryRateLimiter } from '../src/lib/memory.rate-limiter.js';
import { BrokerRegistry } from '../src/brokers/registry.js';
import { AuditService } from '../src/services/people/audit.service.js';
import { OrderService } from '../src/services/orders/order.service.js';
import type { PlaceOrderRequest } from '../src/services/orders/order.validation.js';
import { createLedgerHarness, sqlRows, type LedgerHarness } from './support/ledger-harness.js';
import { modes } from './support/env.js';
import { createTestDatabase } from './support/server.js';

let h: LedgerHarness;

const limitBuy = (portfolioId: string, clientOrderId?: string, quantity = '10'): PlaceOrderRequest => ({
  portfolioId,
  symbol: 'RELIANCE',
  side: 'BUY',
  type: 'LIMIT',
  quantity,
  limitPrice: '400.00',
  clientOrderId,
});

/** The harness's database with its transactions counted. */
function countingTransactions(db: Db): { db: Db; count: () => number } {
  let n = 0;
  const wrapped = new Proxy(db, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'transaction' && typeof v === 'function') {
        return (...a: unknown[]) => {
          n++;
          return (v as (...x: unknown[]) => unknown).apply(target, a);
        };
      }
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { db: wrapped, count: () => n };
}

describe.each(modes())('the cost of placing one order, %s', (mode) => {
  let dropDb: (() => Promise<void>) | undefined;
  let audit: AuditService;
  let counted: ReturnType<typeof countingTransactions>;
  let orders: OrderService;
  let limited: OrderService;
  beforeAll(async () => {
    const pg = mode === 'scaled' ? await createTestDatabase() : undefined;
    dropDb = pg?.drop;
    h = await createLedgerHarness({ databaseUrl: pg?.url });
    h.quotes.set('RELIANCE', 'NSE', '399.95', '400.00');
    counted = countingTransactions(h.db);
    audit = new AuditService({ db: counted.db, clock: h.clock, logger: silentLogger });
    const deps = {
      db: counted.db,
      clock: h.clock,
      logger: silentLogger,
      queue: h.queue,
      relay: h.relay,
      instruments: h.instruments,
      portfolios: h.portfolios,
      brokers: new BrokerRegistry().register(h.broker),
      audit,
    };
    orders = new OrderService({ ...deps, rateLimiter: new MemoryRateLimiter({ clock: h.clock }), limits: { ordersPerSecond: 1_000_000, maxOrderNotional: '100000000' } });
    limited = new OrderService({ ...deps, rateLimiter: new MemoryRateLimiter({ clock: h.clock }), limits: { ordersPerSecond: 1, maxOrderNotional: '100000000' } });
  });
  afterAll(async () => {
    await h?.close();
    await dropDb?.();
  });

  async function auditedOrders(portfolioId: string): Promise<{ subject_id: string; data: { quantity: string; portfolioId: string; symbol: string } }[]> {
    return sqlRows(h.db, sql`select subject_id, data from audit_log where action = 'order.placed' and data->>'portfolioId' = ${portfolioId} order by id`);
  }

  it('places an order alone in ONE transaction that also writes its audit entry, linked into an intact chain', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '10000.00');
    const before = counted.count();
    const o = await orders.place(viewer, limitBuy(portfolioId, 'alone-1'));
    expect(counted.count() - before, 'transactions for one order placed alone').toBe(1);
    const entries = await auditedOrders(portfolioId);
    expect(entries).toEqual([{ subject_id: o.id, data: expect.objectContaining({ quantity: o.quantity, portfolioId, symbol: 'RELIANCE' }) }]);
    // Entries written in placements and by the audit's own group commit form one chain.
    await audit.record({ actorId: viewer.userId, action: 'test.between', subjectId: null, data: null });
    await orders.place(viewer, limitBuy(portfolioId, 'alone-2'));
    const admin = { userId: viewer.userId, role: 'ADMIN' as const };
    expect(await audit.verify(admin)).toMatchObject({ valid: true, firstBrokenId: null });
  });

  it('writes neither order nor audit entry for a refused buy', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '1000.00');
    await expect(orders.place(viewer, limitBuy(portfolioId, 'too-big'))).rejects.toBeInstanceOf(InsufficientFundsError);
    expect(await auditedOrders(portfolioId)).toEqual([]);
    const [n] = await sqlRows<{ n: number }>(h.db, sql`select count(*)::int as n from orders where portfolio_id = ${portfolioId}`);
    expect(n.n).toBe(0);
  });

  it('answers a repeated clientOrderId from the placement transaction, before the risk check, even over the rate limit', async () => {
    const { viewer, portfolioId } = await h.newAccount();
    await h.portfolios.deposit(viewer, portfolioId, '4100.00');
    const first = await limited.place(viewer, limitBuy(portfolioId, 'repeat'));
    // The first order's hold leaves no cash for a second one, and the limit (1/s) is spent: a repeat is
    // still its first order, and written once.
    const again = await limited.place(viewer, limitBuy(portfolioId, 'repeat'));
    expect(again.id).toBe(first.id);
    await expect(limited.place(viewer, limitBuy(portfolioId, 'repeat', '20'))).rejects.toBeInstanceOf(IdempotencyConflictError);
    await expect(limited.place(viewer, limitBuy(portfolioId, 'new-one'))).rejects.toBeInstanceOf(RateLimitedError);
    h.clock.advance(1_500);
    await expect(limited.place(viewer, limitBuy(portfolioId, 'new-one'))).rejects.toBeInstanceOf(InsufficientFundsError);
    h.clock.advance(1_500);
    expect((await orders.place(viewer, limitBuy(portfolioId, 'repeat'))).id).toBe(first.id);
    expect(await auditedOrders(portfolioId)).toHaveLength(1);
  });

  it("never lets anyone but the owner trade in a portfolio whose facts it kept after the owner's order", async () => {
    const owner = await h.newAccount();
    await h.portfolios.deposit(owner.viewer, owner.portfolioId, '10000.00');
    await orders.place(owner.viewer, limitBuy(owner.portfolioId));
    const stranger = await h.newAccount();
    await expect(orders.place(stranger.viewer, limitBuy(owner.portfolioId))).rejects.toBeInstanceOf(NotFoundError);
    const admin = { ...stranger.viewer, role: 'ADMIN' as const };
    await expect(orders.place(admin, limitBuy(owner.portfolioId))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(orders.place(owner.viewer, limitBuy('00000000-0000-4000-8000-000000000000'))).rejects.toBeInstanceOf(NotFoundError);
  });
});
