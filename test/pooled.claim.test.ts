/**
 * A window's claim over several instruments: two closes of the same window at once, as two workers
 * would, put each child in exactly one parent, one parent per instrument, each parent
 * the net of exactly its children; every child fills, and has one claim event (ORDER_UPDATED
 * SUBMITTING, the order as the claim left it: every column, in the formats the driver reads) in its
 * portfolio's gap-free sequence. (test/pooled.batch-fill.test.ts checks such events stored exactly as
 * published.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq, inArray } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { waitForQuote } from './support/trading.js';
import { orders, outboxEvents, pooledChildren, pooledParentOrders, users } from '../src/db/schema/index.js';
import type { Principal } from '../src/auth/tokens.js';
import type { PooledWindowService } from '../src/services/pooled/pooled-window.service.js';
import type { PooledRepository } from '../src/services/pooled/pooled.repository.js';
import { dec } from '../src/lib/decimal.js';

const SYMBOLS = ['RELIANCE', 'ITC', 'INFY'];

describe.each(modes())('a window of several instruments closed twice at once (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    for (const s of SYMBOLS) await waitForQuote(server, s);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('two closes of one window at once: each child joins exactly one parent, one parent per instrument, all filled, one claim event each in a gap-free sequence', async () => {
    const { app } = server;
    const db = app.db.db;
    const [adminRow] = await db.insert(users).values({ email: `claim-admin-${randomUUID()}@x`, passwordHash: 'x', name: 'admin', role: 'ADMIN' }).returning();
    const admin: Principal = { userId: adminRow.id, role: 'ADMIN' };
    const account = await app.services.pooled.create(admin, { name: `claim-${randomUUID()}`, broker: 'paper', windowMs: 86_400_000 });
    const members: { who: Principal; pid: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const [u] = await db.insert(users).values({ email: `claim-${i}-${randomUUID()}@x`, passwordHash: 'x', name: `m${i}` }).returning();
      const who: Principal = { userId: u.id, role: u.role };
      const p = await app.services.pooled.createMemberPortfolio(who, account.id, { name: 'pool' });
      await app.services.portfolios.deposit(who, p.id, '10000000');
      members.push({ who, pid: p.id });
    }
    // Every member buys every instrument, twice for the first one (two children of a portfolio per parent).
    const ids: string[] = [];
    for (const [i, m] of members.entries()) {
      for (const [j, symbol] of SYMBOLS.entries()) {
        for (let k = 0; k < (j === 0 ? 2 : 1); k++) {
          const o = await app.services.orders.place(m.who, { portfolioId: m.pid, symbol, exchange: 'NSE', side: 'BUY', type: 'MARKET', quantity: String(1 + i + k) });
          ids.push(o.id);
        }
      }
    }
    const seq0 = new Map(members.map((m) => [m.pid, 0]));
    const windows = (app.services.pooled as unknown as { deps: { window: () => PooledWindowService } }).deps.window();
    const accountRow = (await (windows as unknown as { deps: { repo: PooledRepository } }).deps.repo.account(account.id))!;
    const at = new Date();
    const [a, b] = await Promise.all([windows.close(accountRow, at, 'w:claim-test'), windows.close(accountRow, at, 'w:claim-test')]);

    const parents = await db.select().from(pooledParentOrders).where(eq(pooledParentOrders.pooledAccountId, account.id));
    expect(parents.length, 'one parent per instrument').toBe(SYMBOLS.length);
    expect([...a, ...b].sort(), 'the two closes returned each parent once between them').toEqual(parents.map((p) => p.id).sort());
    expect(new Set(parents.map((p) => p.instrumentId)).size).toBe(SYMBOLS.length);
    const links = await db.select().from(pooledChildren).where(inArray(pooledChildren.orderId, ids));
    expect(links.length, 'each child linked once').toBe(ids.length);
    const rows = await db.select().from(orders).where(inArray(orders.id, ids));
    for (const p of parents) {
      const mine = rows.filter((o) => links.find((l) => l.orderId === o.id)!.parentId === p.id);
      expect(mine.every((o) => o.instrumentId === p.instrumentId), 'a parent holds only its instrument').toBe(true);
      expect(dec(p.quantity).eq(mine.reduce((s, o) => s.add(o.quantity), dec(0))), 'parent = net of its children (all buys)').toBe(true);
    }
    expect(rows.every((o) => o.status === 'FILLED' && dec(o.filledQuantity).eq(o.quantity)), 'every child filled').toBe(true);

    // Each child's claim event (its first event after placement) carries the order as the claim left it,
    // and every portfolio's sequence is gap-free.
    const events = await db.select().from(outboxEvents).where(inArray(outboxEvents.portfolioId, members.map((m) => m.pid))).orderBy(asc(outboxEvents.portfolioId), asc(outboxEvents.sequence));
    for (const e of events) {
      const n = seq0.get(e.portfolioId)! + 1;
      expect(e.sequence, `gap-free sequence of ${e.portfolioId}`).toBe(n);
      seq0.set(e.portfolioId, n);
    }
    const claimEvents = events.filter((e) => e.type === 'ORDER_UPDATED' && (e.payload as { order: { status: string } }).order.status === 'SUBMITTING');
    expect(claimEvents.length, 'one claim event per child').toBe(ids.length);
    for (const e of claimEvents) {
      const o = (e.payload as { order: Record<string, unknown> }).order;
      expect(Object.keys(o).sort()).toEqual(Object.keys(rows[0]).sort());
      const row = rows.find((r) => r.id === o.id)!;
      expect([o.submitAttempts, o.quantity, o.portfolioId, o.createdAt]).toEqual([1, row.quantity, row.portfolioId, row.createdAt.toISOString()]);
      expect(o.filledQuantity).toBe('0.00000000');
      expect(typeof o.createdAt === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(o.createdAt)).toBe(true);
    }
  });
});
