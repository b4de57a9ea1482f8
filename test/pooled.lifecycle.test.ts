/**
 * A pooled account's window around its edges, as members see it: the window closes at once when it
 * holds POOLED_WINDOW_MAX_ORDERS orders (a day-long window, closed by size alone); a parent the
 * broker rejects ends every child REJECTED with the broker's reason, its hold released and its cash
 * untouched; a parent that ends partly filled ends every child CANCELED with its pro-rata part.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../src/db/batch-sql.js';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { must, newUser, sleep } from './support/gql.js';
import { getOrder, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { adminEmail, registerAdmin, type Person } from './support/people.js';
import type { PaperBroker } from '../src/brokers/paper/paper.broker.js';
import { Decimal } from '../src/lib/decimal.js';

describe.each(modes())('a pooled window’s edges: early close by size, a rejected parent (%s)', (mode) => {
  let server: TestServer;
  let admin: Person;

  const account = async () =>
    (
      await must<{ createPooledAccount: { id: string } }>(
        server,
        `mutation($n:String!){ createPooledAccount(name:$n, broker:"paper", windowMs:86400000){ id } }`,
        { n: `life-${mode}-${Date.now()}-${Math.random()}` },
        admin.token,
      )
    ).createPooledAccount.id;
  const member = async (accountId: string, deposit = '1000000') => {
    const person = await newUser(server, 'life');
    const p = await must<{ createPortfolio: { id: string } }>(server, `mutation($a:ID){ createPortfolio(name:"pooled", pooledAccountId:$a){ id } }`, { a: accountId }, person.token);
    await must(server, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: p.createPortfolio.id, a: deposit }, person.token);
    return { person, portfolioId: p.createPortfolio.id };
  };

  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail(), POOLED_WINDOW_MAX_ORDERS: '3' } });
    await waitForQuote(server, 'RELIANCE');
    await waitForQuote(server, 'ITC');
    admin = await registerAdmin(server);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('a day-long window closes as soon as it holds three orders: the first two wait, the third sends one parent for all', async () => {
    const accountId = await account();
    const paper = server.app.brokers.get('paper');
    const ms = [await member(accountId), await member(accountId), await member(accountId)];
    const first = [await placeOrder(server, ms[0].person.token, { portfolioId: ms[0].portfolioId, symbol: 'RELIANCE', side: 'BUY', type: 'MARKET', quantity: '3' })];
    first.push(await placeOrder(server, ms[1].person.token, { portfolioId: ms[1].portfolioId, symbol: 'RELIANCE', side: 'BUY', type: 'MARKET', quantity: '4' }));
    // Two orders: below the size, the window stays open (its boundary is a day away).
    await sleep(1500);
    for (const [i, o] of first.entries()) expect((await getOrder(server, ms[i].person.token, o.id)).status).toBe('PENDING');
    expect(await paper.listOrders(accountId)).toHaveLength(0);
    const third = await placeOrder(server, ms[2].person.token, { portfolioId: ms[2].portfolioId, symbol: 'RELIANCE', side: 'BUY', type: 'MARKET', quantity: '5' });
    const all = [...first, third];
    for (const [i, o] of all.entries()) await waitForStatus(server, ms[i].person.token, o.id, ['FILLED']);
    const sent = await paper.listOrders(accountId);
    expect(sent).toHaveLength(1);
    expect(Number(sent[0].quantity)).toBe(12);
    const parents = await Promise.all(
      all.map((o, i) => must<{ order: { parentOrder: { id: string } } }>(server, `query($id:ID!){ order(id:$id){ parentOrder { id } } }`, { id: o.id }, ms[i].person.token)),
    );
    expect(new Set(parents.map((p) => p.order.parentOrder.id)).size).toBe(1);
  }, 60_000);

  it('a parent the broker rejects ends every child REJECTED with the reason, holds released, cash untouched', async () => {
    const accountId = await account();
    const ms = [await member(accountId), await member(accountId)];
    const kids = [
      await placeOrder(server, ms[0].person.token, { portfolioId: ms[0].portfolioId, symbol: 'RELIANCE', side: 'BUY', type: 'MARKET', quantity: '2' }),
      await placeOrder(server, ms[1].person.token, { portfolioId: ms[1].portfolioId, symbol: 'RELIANCE', side: 'BUY', type: 'MARKET', quantity: '6' }),
    ];
    const held = await portfolioState(server, ms[0].person.token, ms[0].portfolioId);
    expect(Number(held.availableCash)).toBeLessThan(Number(held.cash));
    (server.app.brokers.get('paper') as PaperBroker).injectFault({ op: 'placeOrder', kind: 'reject' });
    const closed = await must<{ closePooledWindow: { id: string; status: string }[] }>(server, `mutation($id:ID!){ closePooledWindow(id:$id){ id status } }`, { id: accountId }, admin.token);
    expect(closed.closePooledWindow).toHaveLength(1);
    for (const [i, k] of kids.entries()) {
      await waitForStatus(server, ms[i].person.token, k.id, ['REJECTED']);
      const o = await getOrder(server, ms[i].person.token, k.id);
      expect(o.filledQuantity).toMatch(/^0(\.0+)?$/);
      expect(o.rejectReason).toMatch(/parent order rejected/);
      const s = await portfolioState(server, ms[i].person.token, ms[i].portfolioId);
      expect(Number(s.cash)).toBe(1000000);
      expect(s.availableCash).toBe(s.cash);
    }
  }, 60_000);

  it('a parent that ends partly filled (the market ran past its protection) ends its children CANCELED with their pro-rata part', async () => {
    const accountId = await account();
    const ms = [await member(accountId, '100000000'), await member(accountId, '100000000')];
    // Far more than the simulated book ever shows at once (≤ 2,000 shares a tick), so the parent fills in
    // parts over dozens of ticks and is still partly open when the test, however starved, sees its first fill.
    const kids = [
      await placeOrder(server, ms[0].person.token, { portfolioId: ms[0].portfolioId, symbol: 'ITC', side: 'BUY', type: 'MARKET', quantity: '60000' }),
      await placeOrder(server, ms[1].person.token, { portfolioId: ms[1].portfolioId, symbol: 'ITC', side: 'BUY', type: 'MARKET', quantity: '30000' }),
    ];
    await must(server, `mutation($id:ID!){ closePooledWindow(id:$id){ id } }`, { id: accountId }, admin.token);
    // Only once the parent is at the broker and has filled a part (its protection price is then set from the
    // quote before the jump; a jump before it was placed would just move its protection along).
    const paper = server.app.brokers.get('paper');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [parent] = await paper.listOrders(accountId);
      if (parent && Number(parent.filledQuantity) > 0) {
        expect(Number(parent.filledQuantity), 'the parent must still be partly open when the market jumps').toBeLessThan(90000);
        break;
      }
      if (Date.now() > deadline) throw new Error(`the parent never filled a part: ${JSON.stringify(parent)}`);
      await sleep(20);
    }
    // The market jumps far beyond the parent's protection price: the broker cancels the unfilled rest.
    const q = server.app.quotes.get('ITC', 'NSE')!;
    server.app.market()!.feed.setPrice('ITC', 'NSE', new Decimal(q.last).mul(2).toFixed(2));
    const ended = [];
    for (const [i, k] of kids.entries()) ended.push(await waitForStatus(server, ms[i].person.token, k.id, ['CANCELED', 'FILLED'], 30_000));
    const filled = ended.map((o) => new Decimal(o.filledQuantity));
    expect(ended.map((o) => o.status)).toEqual(['CANCELED', 'CANCELED']);
    const total = filled[0].add(filled[1]);
    expect(total.gt(0) && total.lt(90000), `partly filled: ${total}`).toBe(true);
    // Each parent fill went to the two children pro rata to what each still had to fill, within one lot
    // (ITC's lot is one share), in the order the parent fills were allocated. Over several parent fills the
    // totals may drift from 2:1 by more than a lot: each split follows the remaining quantities, as the
    // pooled account promises, not the original ones.
    const db = server.app.db.db;
    const parentFills = rowsOf<{ key: string; q: string }>(
      await db.execute(sql`select pf.broker_fill_id as key, pf.quantity::text as q from pooled_parent_fills pf
        join pooled_children c on c.parent_id = pf.parent_id where c.order_id = ${kids[0].id}::uuid
        order by pf.created_at, pf.executed_at, pf.broker_fill_id`),
    );
    // A child's share of a parent fill is its fill `<parent>:<parent fill's broker id>`.
    const shares = rowsOf<{ key: string; child: string; q: string }>(
      await db.execute(sql`select substr(f.broker_fill_id, length(c.parent_id::text) + 2) as key, f.order_id::text as child, f.quantity::text as q
        from fills f join pooled_children c on c.order_id = f.order_id
        where f.order_id in (${kids[0].id}::uuid, ${kids[1].id}::uuid)`),
    );
    expect(parentFills.length).toBeGreaterThan(0);
    const remaining = [new Decimal(60000), new Decimal(30000)];
    const got = [new Decimal(0), new Decimal(0)];
    for (const pf of parentFills) {
      const part = kids.map((k) => new Decimal(shares.find((x) => x.key === pf.key && x.child === k.id)?.q ?? 0));
      expect(part[0].add(part[1]).toFixed(), `parent fill ${pf.key} allocated in full`).toBe(new Decimal(pf.q).toFixed());
      const open = remaining[0].add(remaining[1]);
      for (const i of [0, 1]) {
        const exact = new Decimal(pf.q).mul(remaining[i]).div(open);
        expect(part[i].sub(exact).abs().lt(1), `child ${i} of parent fill ${pf.key}: ${part[i]} vs ${exact}`).toBe(true);
        remaining[i] = remaining[i].sub(part[i]);
        got[i] = got[i].add(part[i]);
      }
    }
    expect(got.map((g) => g.toFixed())).toEqual(filled.map((f) => f.toFixed()));
    for (const [i, o] of ended.entries()) {
      const s = await portfolioState(server, ms[i].person.token, ms[i].portfolioId);
      expect(s.availableCash, 'hold released').toBe(s.cash);
      const spent = (o.fills as { quantity: string; price: string; fee: string }[]).reduce((acc, f) => acc.add(new Decimal(f.quantity).mul(f.price)).add(f.fee), new Decimal(0));
      expect(new Decimal(s.cash).toFixed(2)).toBe(new Decimal('100000000').sub(spent).toFixed(2));
    }
  }, 90_000);
});
