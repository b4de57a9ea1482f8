/**
 * The pooled allocation's batched fill path writes exactly what the order loop's FillApplier writes.
 * Two identical groups of member portfolios place the same orders (two buys of one instrument in one
 * portfolio, so a batch holds several children of a portfolio; a buy of another instrument; later
 * sells against the bought positions). Group A's executions go through FillApplier.applyInTx one by
 * one, group B's through BatchFillApplier, a round (several children) per transaction. Then every row
 * (orders, fills, positions, ledger lines, holds, portfolios' cash and event sequence) and every outbox
 * event (sequence, type, payload) is compared field by field, identities mapped A → B.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc, eq, inArray } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { waitForQuote } from './support/trading.js';
import { fills, holds, ledgerEntries, orders, outboxEvents, portfolios, positions, users } from '../src/db/schema/index.js';
import type { Principal } from '../src/auth/tokens.js';
import { FillApplier } from '../src/services/orders/fill-applier.js';
import { BatchFillApplier, appendEventsMany } from '../src/services/pooled/batch-fill.js';
import { orderSnapshot } from '../src/services/orders/order.snapshot.js';
import type { StoredEvent } from '../src/events/outbox.js';
import { OutboxRelay } from '../src/events/outbox.js';
import { dec } from '../src/lib/decimal.js';

type Step = { order: number; quantity: string; price: string; fee: string };

describe.each(modes())('a batch of child fills writes what FillApplier writes, row for row and event for event (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('buys (partial, then complete; two orders of one portfolio in one batch) and sells with realised P&L match field by field', async () => {
    const { app } = server;
    const db = app.db.db;
    await waitForQuote(server, 'RELIANCE', 'NSE');
    await waitForQuote(server, 'INFY', 'NSE');
    // Quotes that do not move while the two groups place their orders (market protection sizes the holds).
    await app.market()?.close();
    const [adminRow] = await db.insert(users).values({ email: `batch-admin-${randomUUID()}@x`, passwordHash: 'x', name: 'admin', role: 'ADMIN' }).returning();
    const admin: Principal = { userId: adminRow.id, role: 'ADMIN' };
    const account = await app.services.pooled.create(admin, { name: `batch-${randomUUID()}`, broker: 'paper', windowMs: 86_400_000 });

    // Two groups of three members, each member with the same deposit and orders.
    const group = async () => {
      const out: { who: Principal; pid: string; orders: string[] }[] = [];
      for (let i = 0; i < 3; i++) {
        const [u] = await db.insert(users).values({ email: `batch-${i}-${randomUUID()}@x`, passwordHash: 'x', name: `m${i}` }).returning();
        const who: Principal = { userId: u.id, role: u.role };
        const p = await app.services.pooled.createMemberPortfolio(who, account.id, { name: 'pool' });
        await app.services.portfolios.deposit(who, p.id, '1000000');
        out.push({ who, pid: p.id, orders: [] });
      }
      return out;
    };
    const A = await group();
    const B = await group();
    const place = async (m: { who: Principal; pid: string; orders: string[] }, symbol: string, side: 'BUY' | 'SELL', quantity: string) => {
      const o = await app.services.orders.place(m.who, { portfolioId: m.pid, symbol, exchange: 'NSE', side, type: 'MARKET', quantity });
      m.orders.push(o.id);
      // As the window's claim does: the child leaves PENDING for SUBMITTING.
      await db.update(orders).set({ status: 'SUBMITTING' }).where(eq(orders.id, o.id));
    };
    for (const g of [A, B]) {
      for (const [i, m] of g.entries()) {
        await place(m, 'RELIANCE', 'BUY', String(10 + i));
        await place(m, 'RELIANCE', 'BUY', String(7 + 2 * i));
        await place(m, 'INFY', 'BUY', '5');
      }
    }

    // The window's claim events (ORDER_UPDATED SUBMITTING, appendEventsMany) for both groups alike: stored
    // exactly as the events published from Node.
    const claimed = await db.transaction(async (tx) => {
      const rows = new Map((await tx.select().from(orders).where(inArray(orders.id, [...A, ...B].flatMap((m) => m.orders)))).map((o) => [o.id, o]));
      // In placement order, so both groups' sequences match.
      const per = new Map([...A, ...B].map((m) => [m.pid, m.orders.map((id) => ({ type: 'ORDER_UPDATED' as const, payload: { order: orderSnapshot(rows.get(id)!) } }))]));
      return appendEventsMany(tx, per, new Date());
    });
    expect(claimed.length).toBe(18);
    await expectStoredAsPublished(claimed);

    const fa = new FillApplier({ db, clock: app.clock, relay: new OutboxRelay({ db, pubsub: app.pubsub, clock: app.clock, logger: app.logger }) });
    const batch = new BatchFillApplier();
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    let round = 0;
    /** One round: every member's steps; group A one FillApplier transaction per fill, group B ONE batch. */
    const run = async (steps: (m: number) => Step[]) => {
      round++;
      const key = `parent-x:fill-${round}`;
      for (const [mi, m] of A.entries()) {
        for (const s of steps(mi)) {
          const [o] = await db.select().from(orders).where(eq(orders.id, m.orders[s.order]));
          await db.transaction((tx) =>
            fa.applyInTx(tx, o, { brokerFillId: key, brokerOrderId: 'parent-x', clientOrderId: o.id, quantity: s.quantity, price: s.price, fee: s.fee, executedAt: now.toISOString() }, now),
          );
        }
      }
      const shares = B.flatMap((m, mi) =>
        steps(mi).map((s) => ({ orderId: m.orders[s.order], brokerFillId: key, brokerOrderId: 'parent-x', quantity: dec(s.quantity), price: dec(s.price), fee: dec(s.fee), executedAt: now })),
      );
      const events = await db.transaction(async (tx) => {
        const state = await batch.load(tx, B.map((m) => m.pid), shares.map((s) => s.orderId));
        return batch.apply(tx, state, shares, now);
      });
      expect(events.length).toBe(shares.length * 4);
      // What subscribers get from Node and what catch-up reads get from the outbox are the same payloads
      // (the order snapshot the two events share travels once and Postgres puts it back): key for key.
      await expectStoredAsPublished(events);
    };

    // Buys: partial fills of both RELIANCE orders and the INFY one, then the rest (FILLED, holds released).
    await run((i) => [
      { order: 0, quantity: '4', price: '2500.5', fee: '1.23' },
      { order: 1, quantity: String(3 + i), price: '2500.5', fee: '0.77' },
      { order: 2, quantity: '2', price: '1500.25', fee: '0.01' },
    ]);
    await run((i) => [
      { order: 0, quantity: String(6 + i), price: '2510.75', fee: '2.05' },
      { order: 1, quantity: String(4 + i), price: '2510.75', fee: '0' },
      { order: 2, quantity: '3', price: '1499.5', fee: '0.45' },
    ]);
    // Sells against the positions: a partial fill at a gain, the rest at a loss (realised P&L, quantity holds).
    for (const g of [A, B]) for (const m of g) await place(m, 'RELIANCE', 'SELL', '8');
    await run(() => [{ order: 3, quantity: '5', price: '2600', fee: '0.39' }]);
    await run(() => [{ order: 3, quantity: '3', price: '2400.125', fee: '0.18' }]);

    /** Every event's stored row equals the message handed to the relay (nothing dropped or normalised). */
    async function expectStoredAsPublished(events: StoredEvent[]) {
      const stored = new Map((await db.select().from(outboxEvents).where(inArray(outboxEvents.id, events.map((e) => e.id)))).map((r) => [r.id, r]));
      expect(stored.size).toBe(events.length);
      for (const e of events) {
        const r = stored.get(e.id)!;
        expect({ portfolioId: r.portfolioId, sequence: r.sequence, type: r.type, payload: r.payload, createdAt: r.createdAt.toISOString() }, `event ${e.id}`).toStrictEqual(
          JSON.parse(JSON.stringify(e.message)),
        );
      }
    }

    // Field by field, with A's identities mapped to B's.
    const idMap = new Map<string, string>();
    A.forEach((m, i) => {
      idMap.set(m.pid, B[i].pid);
      idMap.set(m.who.userId, B[i].who.userId);
      m.orders.forEach((o, j) => idMap.set(o, B[i].orders[j]));
    });
    const rowsOf = async (g: typeof A) => {
      const pids = g.map((m) => m.pid);
      const oids = g.flatMap((m) => m.orders);
      const fillRows = await db.select().from(fills).where(inArray(fills.portfolioId, pids)).orderBy(asc(fills.createdAt), asc(fills.brokerFillId));
      const fillIndex = new Map(fillRows.map((f) => [f.id, `${f.orderId}/${f.brokerFillId}`]));
      return {
        fillIndex,
        orders: await db.select().from(orders).where(inArray(orders.id, oids)),
        fills: fillRows,
        positions: await db.select().from(positions).where(inArray(positions.portfolioId, pids)),
        ledger: await db.select().from(ledgerEntries).where(inArray(ledgerEntries.portfolioId, pids)).orderBy(asc(ledgerEntries.id)),
        holds: await db.select().from(holds).where(inArray(holds.portfolioId, pids)),
        portfolios: await db.select().from(portfolios).where(inArray(portfolios.id, pids)),
        events: await db.select().from(outboxEvents).where(inArray(outboxEvents.portfolioId, pids)).orderBy(asc(outboxEvents.portfolioId), asc(outboxEvents.sequence)),
      };
    };
    const a = await rowsOf(A);
    const b = await rowsOf(B);
    for (const [fid, k] of a.fillIndex) {
      const [oid, bfid] = k.split('/');
      const twin = [...b.fillIndex].find(([, v]) => v === `${idMap.get(oid)}/${bfid}`);
      expect(twin, `fill ${k} has a twin`).toBeDefined();
      idMap.set(fid, twin![0]);
    }
    // Identity-free copies: ids mapped A → B, the rows' own generated ids and creation times dropped.
    const volatile = new Set(['id', 'clientOrderId', 'requestHash', 'createdAt', 'updatedAt', 'publishedAt']);
    const norm = (v: unknown, mapIds: boolean): unknown => {
      if (v instanceof Date) return v.toISOString();
      if (Array.isArray(v)) return v.map((x) => norm(x, mapIds));
      if (v && typeof v === 'object') {
        return Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([k]) => !volatile.has(k))
            .map(([k, x]) => [k, norm(x, mapIds)]),
        );
      }
      if (typeof v === 'string' && mapIds && idMap.has(v)) return idMap.get(v);
      return v;
    };
    const by = <T>(rows: T[], key: (r: T) => string) => [...rows].sort((x, y) => key(x).localeCompare(key(y)));
    const cmp = <T>(name: string, ra: T[], rb: T[], key: (r: T, side: 'a' | 'b') => string) => {
      expect(ra.length, `${name}: row count`).toBe(rb.length);
      expect(ra.length, `${name}: rows compared`).toBeGreaterThan(0);
      expect(by(ra, (r) => key(r, 'a')).map((r) => norm(r, true)), name).toEqual(by(rb, (r) => key(r, 'b')).map((r) => norm(r, false)));
    };
    const m = (s: string, side: 'a' | 'b') => (side === 'a' ? (idMap.get(s) ?? s) : s);
    cmp('orders', a.orders, b.orders, (r, s) => m(r.id, s));
    cmp('fills', a.fills, b.fills, (r, s) => `${m(r.orderId, s)}/${r.brokerFillId}`);
    cmp('positions', a.positions, b.positions, (r, s) => `${m(r.portfolioId, s)}/${r.instrumentId}`);
    cmp('holds', a.holds, b.holds, (r, s) => m(r.orderId, s));
    cmp('portfolios', a.portfolios, b.portfolios, (r, s) => m(r.id, s));
    const ledgerKey = (r: (typeof a.ledger)[number], s: 'a' | 'b') => `${m(r.portfolioId, s)}/${String(r.id).padStart(12, '0')}`;
    // Ledger lines in their order per portfolio (ids differ, order does not).
    const ledgerSeq = (rows: typeof a.ledger, s: 'a' | 'b') => {
      const n = new Map<string, number>();
      return rows.map((r) => {
        const p = m(r.portfolioId, s);
        n.set(p, (n.get(p) ?? 0) + 1);
        return { ...r, id: n.get(p)! };
      });
    };
    cmp('ledger lines', ledgerSeq(a.ledger, 'a'), ledgerSeq(b.ledger, 'b'), (r, s) => ledgerKey(r, s));
    const fillEvents = (rows: typeof a.events) => rows.filter((e) => e.type !== 'ORDER_UPDATED' || (e.payload as { order: { filledQuantity: string } }).order.filledQuantity !== '0');
    cmp('outbox events', fillEvents(a.events), fillEvents(b.events), (r, s) => `${m(r.portfolioId, s)}/${String(r.sequence).padStart(6, '0')}`);
    // The books balance: cash is the ledger's sum in every portfolio.
    for (const p of b.portfolios) {
      const sum = b.ledger.filter((l) => l.portfolioId === p.id).reduce((acc, l) => acc.add(l.amount), dec(0));
      expect(dec(p.cash).eq(sum), `cash of ${p.id} equals its ledger`).toBe(true);
    }
    expect(b.orders.filter((o) => o.status === 'FILLED').length).toBe(12);
  }, 180_000);
});
