/**
 * A pooled member's books move only through the pool: an import of activities into a member portfolio
 * is refused (the pool's broker account never bought what it would add, and selling it through the pool
 * would leave the broker account short), and a window crossed internally at a price finer than the
 * paisa (the quote mid half a tick between bid and ask) moves every member's cash by whole paise, buyers
 * paying in total exactly what sellers receive, so all of it can be withdrawn.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { gql, must, newUser } from './support/gql.js';
import { assertLedgerInvariants, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { adminEmail, registerAdmin, type Person } from './support/people.js';
import { importedActivities, ledgerEntries, positions } from '../src/db/schema/index.js';
import { Decimal } from '../src/lib/decimal.js';
import type { Quote } from '../src/market/quote.js';

type Member = { person: Person; portfolioId: string };

describe.each(modes())('a pooled member’s books move only through the pool (%s)', (mode) => {
  let server: TestServer;
  let admin: Person;
  let accountId: string;

  const member = async (): Promise<Member> => {
    const person = await newUser(server, 'pbooks');
    const p = await must<{ createPortfolio: { id: string } }>(server, `mutation($a:ID){ createPortfolio(name:"pooled", pooledAccountId:$a){ id } }`, { a: accountId }, person.token);
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1000000"){ id } }`, { p: p.createPortfolio.id }, person.token);
    return { person, portfolioId: p.createPortfolio.id };
  };
  const close = async () => (await must<{ closePooledWindow: { id: string; quantity: string; crossedQuantity: string }[] }>(server, `mutation($id:ID!){ closePooledWindow(id:$id){ id quantity crossedQuantity } }`, { id: accountId }, admin.token)).closePooledWindow;
  const order = (m: Member, side: 'BUY' | 'SELL', quantity: string) => placeOrder(server, m.person.token, { portfolioId: m.portfolioId, symbol: 'ITC', side, type: 'MARKET', quantity });

  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail() } });
    await waitForQuote(server, 'ITC');
    admin = await registerAdmin(server);
    accountId = (
      await must<{ createPooledAccount: { id: string } }>(server, `mutation($n:String!){ createPooledAccount(name:$n, broker:"paper", windowMs:86400000){ id } }`, { n: `books-${mode}-${Date.now()}` }, admin.token)
    ).createPooledAccount.id;
  }, 120_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await server?.close();
  });

  it('importActivities into a member portfolio is refused with POOLED_MEMBER and writes nothing', async () => {
    const m = await member();
    const before = await portfolioState(server, m.person.token, m.portfolioId);
    const r = await gql(
      server,
      `mutation($p:ID!,$a:[ActivityInput!]!){ importActivities(portfolioId:$p, activities:$a){ imported } }`,
      {
        p: m.portfolioId,
        a: [
          { date: '2025-01-02T00:00:00Z', type: 'DEPOSIT', amount: '100000' },
          { date: '2025-01-02T00:00:00Z', type: 'BUY', symbol: 'ITC', exchange: 'NSE', quantity: '50', price: '400', fee: '0' },
        ],
      },
      m.person.token,
    );
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'portfolioId', reason: 'POOLED_MEMBER' });
    expect(r.data?.importActivities ?? null).toBeNull();
    const db = server.app.db.db;
    expect(await db.select().from(positions).where(eq(positions.portfolioId, m.portfolioId))).toEqual([]);
    expect(await db.select().from(importedActivities).where(eq(importedActivities.portfolioId, m.portfolioId))).toEqual([]);
    expect((await db.select().from(ledgerEntries).where(eq(ledgerEntries.portfolioId, m.portfolioId))).map((l) => l.kind)).toEqual(['DEPOSIT']);
    expect(await portfolioState(server, m.person.token, m.portfolioId)).toEqual(before);
  });

  it('a window netting to zero at a half-tick mid moves every member’s cash by whole paise, zero-sum, and all of it can be withdrawn', async () => {
    const [seller, b1, b2] = [await member(), await member(), await member()];
    // The seller first buys the shares it will sell, through the pool.
    const own = await order(seller, 'BUY', '20');
    await close();
    await waitForStatus(server, seller.person.token, own.id, ['FILLED'], 30_000);

    // Hold ITC one tick wide (0.05), so the mid sits half a tick between: q × mid has a third decimal for odd q.
    await server.app.market()?.stop();
    const real = server.app.quotes.get('ITC', 'NSE')!;
    const bid = new Decimal(real.bid ?? real.last);
    const ask = bid.add('0.05');
    const get = server.app.quotes.get.bind(server.app.quotes);
    vi.spyOn(server.app.quotes, 'get').mockImplementation((symbol: string, exchange: string): Quote | null => {
      const q = get(symbol, exchange);
      return symbol === 'ITC' && q ? { ...q, bid: bid.toFixed(), ask: ask.toFixed(), last: bid.toFixed() } : q;
    });
    const mid = bid.add(ask).div(2);
    expect(mid.mul(7).decimalPlaces()).toBe(3);

    const cashBefore = new Map<string, Decimal>();
    for (const m of [seller, b1, b2]) cashBefore.set(m.portfolioId, new Decimal((await portfolioState(server, m.person.token, m.portfolioId)).cash));
    const kids = [
      { m: seller, o: await order(seller, 'SELL', '10') },
      { m: b1, o: await order(b1, 'BUY', '7') },
      { m: b2, o: await order(b2, 'BUY', '3') },
    ];
    const parents = await close();
    expect(parents).toHaveLength(1);
    expect(new Decimal(parents[0].quantity).isZero()).toBe(true);
    expect(new Decimal(parents[0].crossedQuantity).eq(10)).toBe(true);
    for (const k of kids) await waitForStatus(server, k.m.person.token, k.o.id, ['FILLED']);
    vi.restoreAllMocks();

    // The fills keep the one price of the cross (the mid); each TRADE line is within a paisa of q × mid,
    // whole paise, and the buyers' lines sum to minus the seller's.
    const trades = new Map<string, Decimal>();
    for (const k of kids) {
      const d = await must<{ order: { fills: { quantity: string; price: string; fee: string }[] } }>(server, `query($id:ID!){ order(id:$id){ fills { quantity price fee } } }`, { id: k.o.id }, k.m.person.token);
      expect(d.order.fills).toHaveLength(1);
      expect(new Decimal(d.order.fills[0].price).eq(mid)).toBe(true);
      const rows = await server.app.db.db.execute(sql`select amount::text as amount from ledger_entries where order_id = ${k.o.id} and kind = 'TRADE'`);
      const list = (Array.isArray(rows) ? rows : (rows as unknown as { rows: { amount: string }[] }).rows) as { amount: string }[];
      expect(list).toHaveLength(1);
      const amount = new Decimal(list[0].amount);
      expect(amount.decimalPlaces()).toBeLessThanOrEqual(2);
      const exact = new Decimal(d.order.fills[0].quantity).mul(mid);
      expect(amount.abs().sub(exact).abs().lt('0.01')).toBe(true);
      trades.set(k.m.portfolioId, amount);
    }
    expect(trades.get(b1.portfolioId)!.add(trades.get(b2.portfolioId)!).eq(trades.get(seller.portfolioId)!.neg())).toBe(true);
    expect(trades.get(seller.portfolioId)!.eq(mid.mul(10).toDecimalPlaces(2, Decimal.ROUND_HALF_UP))).toBe(true);

    // Every member's cash is whole paise, moved by exactly its TRADE line, and withdrawing all of it succeeds.
    for (const m of [seller, b1, b2]) {
      const s = await portfolioState(server, m.person.token, m.portfolioId);
      expect(new Decimal(s.cash).eq(cashBefore.get(m.portfolioId)!.add(trades.get(m.portfolioId)!))).toBe(true);
      expect(new Decimal(s.cash).decimalPlaces()).toBeLessThanOrEqual(2);
      expect(s.availableCash).toBe(s.cash);
      const w = await must<{ withdraw: { cash: string } }>(server, `mutation($p:ID!,$a:Decimal!){ withdraw(portfolioId:$p, amount:$a){ cash } }`, { p: m.portfolioId, a: s.cash }, m.person.token);
      expect(new Decimal(w.withdraw.cash).isZero()).toBe(true);
      await assertLedgerInvariants(server.app.db.db, m.portfolioId);
    }
    server.app.market()?.start();
  }, 60_000);
});
