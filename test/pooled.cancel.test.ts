/**
 * A member cancels after its window closed, through GraphQL, while the parent rests at the paper
 * exchange partly filled (the market is held still: the parent filled what the quote displayed and waits
 * for the next quotes). A child on the net side reduces the parent by its unfilled share and ends
 * CANCELED with what it had, hold released; later fills go to the others only. A child on the crossed
 * side, a reduce the broker refuses, and one the broker cannot make are refused
 * with INVALID_ORDER_STATE and change nothing. A reduce whose response is lost, and one whose recording
 * is lost (as if the process died after the broker's acknowledgement) while fills keep arriving, are
 * recorded once, from the broker's view of the parent, and nothing is allocated twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, gt } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { gql, must, newUser, waitFor } from './support/gql.js';
import { assertLedgerInvariants, getOrder, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { adminEmail, registerAdmin, type Person } from './support/people.js';
import type { PaperBroker } from '../src/brokers/paper/paper.broker.js';
import { outboxEvents, pooledParentOrders, pooledParentReductions } from '../src/db/schema/index.js';
import { Decimal } from '../src/lib/decimal.js';

/** The fields of an outbox payload these checks read. */
type EventPayload = { order?: { status?: string }; reason?: string };

type Member = { person: Person; portfolioId: string };
const DEPOSIT = '100000000';

describe.each(modes())('canceling a pooled child after its window closed (%s)', (mode) => {
  let server: TestServer;
  let admin: Person;
  let paper: PaperBroker;

  const account = async () =>
    (
      await must<{ createPooledAccount: { id: string } }>(
        server,
        `mutation($n:String!){ createPooledAccount(name:$n, broker:"paper", windowMs:86400000){ id } }`,
        { n: `cancel-${mode}-${Date.now()}-${Math.random()}` },
        admin.token,
      )
    ).createPooledAccount.id;
  const member = async (accountId: string): Promise<Member> => {
    const person = await newUser(server, 'pcancel');
    const p = await must<{ createPortfolio: { id: string } }>(server, `mutation($a:ID){ createPortfolio(name:"pooled", pooledAccountId:$a){ id } }`, { a: accountId }, person.token);
    await must(server, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: p.createPortfolio.id, a: DEPOSIT }, person.token);
    return { person, portfolioId: p.createPortfolio.id };
  };
  const order = (m: Member, symbol: string, side: 'BUY' | 'SELL', quantity: string) => placeOrder(server, m.person.token, { portfolioId: m.portfolioId, symbol, side, type: 'MARKET', quantity });
  const close = async (accountId: string) =>
    (await must<{ closePooledWindow: { id: string }[] }>(server, `mutation($id:ID!){ closePooledWindow(id:$id){ id } }`, { id: accountId }, admin.token)).closePooledWindow;
  const cancel = (m: Member, id: string) => gql<{ cancelOrder: { status: string; filledQuantity: string } }>(server, `mutation($id:ID!){ cancelOrder(id:$id){ status filledQuantity } }`, { id }, m.person.token);
  const remote = async (accountId: string, parentId: string) => (await paper.listOrders(accountId)).find((o) => o.clientOrderId === `pool-${parentId}`)!;
  const parentRow = async (id: string) => (await server.app.db.db.select().from(pooledParentOrders).where(eq(pooledParentOrders.id, id)))[0];
  const market = () => server.app.market()!;
  /** Wait until the parent's first (immediate) fill is allocated to the children. */
  const firstFillAllocated = (parentId: string) => waitFor('the parent’s first fill allocated', async () => new Decimal((await parentRow(parentId)).filledQuantity).gt(0), 15_000);
  const spent = (o: Record<string, any>) => (o.fills as { quantity: string; price: string; fee: string }[]).reduce((s, f) => s.add(new Decimal(f.quantity).mul(f.price)).add(f.fee), new Decimal(0));
  const sum = (xs: Decimal[]) => xs.reduce((s, x) => s.add(x), new Decimal(0));

  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail() } });
    for (const s of ['ITC', 'RELIANCE', 'TCS', 'INFY']) await waitForQuote(server, s);
    admin = await registerAdmin(server);
    paper = server.app.brokers.get('paper') as PaperBroker;
  }, 120_000);
  afterAll(async () => {
    market().start();
    await server?.close();
  });

  it('a buy on the net side reduces the parent by its unfilled share and ends CANCELED with what it had; the crossed sell is refused; later fills go to the others', async () => {
    const accountId = await account();
    const [a, b, c] = [await member(accountId), await member(accountId), await member(accountId)];
    // c first buys the shares it will sell, in a window of its own.
    const own = await order(c, 'ITC', 'BUY', '1000');
    await close(accountId);
    await waitForStatus(server, c.person.token, own.id, ['FILLED'], 30_000);

    await market().stop(); // the parent fills what the current quote shows (≤ 2,000) and rests
    const kidA = await order(a, 'ITC', 'BUY', '6000');
    const kidB = await order(b, 'ITC', 'BUY', '3000');
    const kidC = await order(c, 'ITC', 'SELL', '1000');
    const [parent] = await close(accountId);
    await firstFillAllocated(parent.id);
    const before = await getOrder(server, b.person.token, kidB.id);
    expect(before.status).toBe('PARTIALLY_FILLED');
    const p0 = await parentRow(parent.id);
    expect(new Decimal(p0.quantity).toFixed()).toBe('8000'); // net: 9,000 bought − 1,000 sold

    // The crossed side: refused, nothing changes.
    const crossed = await cancel(c, kidC.id);
    expect(crossed.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_ORDER_STATE', reason: 'CROSSED_SIDE' });
    expect((await getOrder(server, c.person.token, kidC.id)).status).toBe('SUBMITTING');

    // The net side: the parent loses b's unfilled share, b ends CANCELED with what it had.
    const r = await cancel(b, kidB.id);
    expect(r.errors).toBeUndefined();
    expect(r.data!.cancelOrder.status).toBe('CANCELED');
    const share = new Decimal('3000').sub(before.filledQuantity);
    expect(new Decimal(r.data!.cancelOrder.filledQuantity).toFixed()).toBe(new Decimal(before.filledQuantity).toFixed());
    expect(new Decimal((await remote(accountId, parent.id)).quantity).toFixed()).toBe(new Decimal('8000').sub(share).toFixed());
    expect(new Decimal((await parentRow(parent.id)).quantity).toFixed()).toBe(new Decimal('8000').sub(share).toFixed());
    const bState = await portfolioState(server, b.person.token, b.portfolioId);
    expect(bState.availableCash, 'hold released').toBe(bState.cash);
    // The events a direct order's cancel emits: the order CANCELED, then the balance with its hold released.
    const last = await server.app.db.db.select().from(outboxEvents).where(eq(outboxEvents.portfolioId, b.portfolioId)).orderBy(outboxEvents.sequence);
    const tail = last.slice(-2).map((e) => ({ type: e.type, status: (e.payload as EventPayload).order?.status, reason: (e.payload as EventPayload).reason }));
    expect(tail).toEqual([
      { type: 'ORDER_UPDATED', status: 'CANCELED', reason: undefined },
      { type: 'BALANCE_CHANGED', status: undefined, reason: 'ORDER_CANCELED' },
    ]);
    expect(last.map((e) => e.sequence)).toEqual(last.map((_, i) => last[0].sequence + i)); // gap-free
    // A second cancel of b: the order has ended.
    expect((await cancel(b, kidB.id)).errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_ORDER_STATE' });

    market().start();
    const endA = await waitForStatus(server, a.person.token, kidA.id, ['FILLED'], 60_000);
    const endC = await waitForStatus(server, c.person.token, kidC.id, ['FILLED'], 30_000);
    const endB = await getOrder(server, b.person.token, kidB.id);
    expect(endB.status).toBe('CANCELED');
    expect(new Decimal(endB.filledQuantity).toFixed()).toBe(new Decimal(before.filledQuantity).toFixed()); // nothing after its cancel
    expect(new Decimal(endA.filledQuantity).toFixed()).toBe('6000');
    expect(new Decimal(endC.filledQuantity).toFixed()).toBe('1000');
    // Broker executions = the buys' fills less the crossed part; every child's cash = deposit − its fills.
    const fills = await paper.getFills(accountId, (await remote(accountId, parent.id)).brokerOrderId);
    expect(sum(fills.map((f) => new Decimal(f.quantity))).toFixed()).toBe(new Decimal('8000').sub(share).toFixed());
    expect(new Decimal(endA.filledQuantity).add(endB.filledQuantity).sub(1000).toFixed()).toBe(sum(fills.map((f) => new Decimal(f.quantity))).toFixed());
    for (const [m, o] of [[a, endA], [b, endB]] as const) {
      const s = await portfolioState(server, m.person.token, m.portfolioId);
      expect(new Decimal(s.cash).toFixed(2)).toBe(new Decimal(DEPOSIT).sub(spent(o)).toFixed(2));
      expect(s.availableCash).toBe(s.cash);
      await assertLedgerInvariants(server.app.db.db, m.portfolioId);
    }
  }, 150_000);

  it('a reduce the broker refuses, and a reduce on a broker without the capability, are refused and change nothing', async () => {
    // (The last child of its side with anything unfilled cancels the whole parent instead: pooled.cancel-parent.test.ts.)
    const accountId = await account();
    const [a, b] = [await member(accountId), await member(accountId)];
    await market().stop();
    const kids = [await order(b, 'TCS', 'BUY', '4000'), await order(a, 'TCS', 'BUY', '2000')];
    const [p2] = await close(accountId);
    await firstFillAllocated(p2.id);
    const seen = await getOrder(server, b.person.token, kids[0].id);
    paper.injectFault({ op: 'reduceOrder', kind: 'reject' });
    const r2 = await cancel(b, kids[0].id);
    expect(r2.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_ORDER_STATE', reason: 'BROKER_REFUSED' });
    expect((await getOrder(server, b.person.token, kids[0].id)).status).toBe(seen.status);
    expect(new Decimal((await remote(accountId, p2.id)).quantity).toFixed()).toBe('6000');
    expect(await server.app.db.db.select().from(pooledParentReductions).where(eq(pooledParentReductions.parentId, p2.id))).toHaveLength(0);

    // Without the capability: refused the same way.
    Object.defineProperty(paper, 'reduceOrder', { value: undefined, configurable: true });
    try {
      const r3 = await cancel(b, kids[0].id);
      expect(r3.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_ORDER_STATE', reason: 'BROKER_CANNOT_REDUCE' });
    } finally {
      delete (paper as { reduceOrder?: unknown }).reduceOrder;
    }
    market().start();
    // Every child still gets all it asked for.
    for (const [m, k] of [[b, kids[0]], [a, kids[1]]] as const) {
      const o = await waitForStatus(server, m.person.token, k.id, ['FILLED'], 60_000);
      expect(new Decimal(o.filledQuantity).toFixed()).toBe(new Decimal(k.quantity).toFixed());
    }
  }, 150_000);

  it('a reduce whose response is lost is recorded from the broker’s view; one whose recording is lost (the process died) is recorded by the sweep, while fills wait and then go to the others once', async () => {
    const accountId = await account();
    const [a, b, c] = [await member(accountId), await member(accountId), await member(accountId)];
    await market().stop();
    const kids = [await order(a, 'INFY', 'BUY', '5000'), await order(b, 'INFY', 'BUY', '2000'), await order(c, 'INFY', 'BUY', '2000')];
    const [parent] = await close(accountId);
    await firstFillAllocated(parent.id);
    const seenB = await getOrder(server, b.person.token, kids[1].id);
    const seenC = await getOrder(server, c.person.token, kids[2].id);

    // Lost response: the exchange reduced the parent; the cancel reads it back and records it.
    paper.injectFault({ op: 'reduceOrder', kind: 'lost-response' });
    const rb = await cancel(b, kids[1].id);
    expect(rb.errors).toBeUndefined();
    expect(rb.data!.cancelOrder.status).toBe('CANCELED');
    const shareB = new Decimal('2000').sub(seenB.filledQuantity);
    const afterB = new Decimal('9000').sub(shareB);
    expect(new Decimal((await remote(accountId, parent.id)).quantity).toFixed()).toBe(afterB.toFixed());

    // Lost recording: the state a process killed between the broker's acknowledgement of the reduce and
    // its recording leaves behind: the intent REQUESTED, the exchange's parent already reduced.
    const shareC = new Decimal('2000').sub(seenC.filledQuantity);
    const afterC = afterB.sub(shareC);
    await server.app.db.db.insert(pooledParentReductions).values({
      childOrderId: kids[2].id,
      parentId: parent.id,
      quantity: shareC.toFixed(),
      fromQuantity: afterB.toFixed(),
      toQuantity: afterC.toFixed(),
      createdAt: new Date(),
    });
    await paper.reduceOrder(accountId, (await remote(accountId, parent.id)).brokerOrderId, afterC.toFixed());
    expect(new Decimal((await remote(accountId, parent.id)).quantity).toFixed()).toBe(afterC.toFixed());
    const filledBefore = new Decimal((await parentRow(parent.id)).filledQuantity);

    // Fills keep coming at the broker meanwhile; they wait unallocated while the reduction is unresolved.
    market().start();
    await waitFor('the broker filled more of the parent', async () => new Decimal((await remote(accountId, parent.id)).filledQuantity).gt(filledBefore), 20_000);
    const stillC = await getOrder(server, c.person.token, kids[2].id);
    expect(new Decimal(stillC.filledQuantity).toFixed()).toBe(new Decimal(seenC.filledQuantity).toFixed());

    // The window job's sweep resolves it from the broker's view (the parent is at the reduced quantity).
    const endC = await waitForStatus(server, c.person.token, kids[2].id, ['CANCELED'], 30_000);
    expect(new Decimal(endC.filledQuantity).toFixed()).toBe(new Decimal(seenC.filledQuantity).toFixed());
    const endA = await waitForStatus(server, a.person.token, kids[0].id, ['FILLED'], 60_000);
    expect(new Decimal(endA.filledQuantity).toFixed()).toBe('5000');
    const [done] = await server.app.db.db.select().from(pooledParentReductions).where(eq(pooledParentReductions.childOrderId, kids[2].id));
    expect(done.status).toBe('DONE');
    // Every broker execution recorded once; the children's fills add up to the parent's.
    const fills = await paper.getFills(accountId, (await remote(accountId, parent.id)).brokerOrderId);
    const total = sum(fills.map((f) => new Decimal(f.quantity)));
    expect(total.toFixed()).toBe(afterC.toFixed());
    const endB = await getOrder(server, b.person.token, kids[1].id);
    expect(new Decimal(endA.filledQuantity).add(endB.filledQuantity).add(endC.filledQuantity).toFixed()).toBe(total.toFixed());
    expect(new Decimal((await parentRow(parent.id)).filledQuantity).toFixed()).toBe(total.toFixed());
    const events = await server.app.db.db.select().from(outboxEvents).where(and(eq(outboxEvents.portfolioId, c.portfolioId), gt(outboxEvents.sequence, 0)));
    expect(events.filter((e) => e.type === 'ORDER_UPDATED' && (e.payload as EventPayload).order?.status === 'CANCELED')).toHaveLength(1);
    for (const [m, o] of [[a, endA], [b, endB], [c, endC]] as const) {
      const s = await portfolioState(server, m.person.token, m.portfolioId);
      expect(new Decimal(s.cash).toFixed(2)).toBe(new Decimal(DEPOSIT).sub(spent(o)).toFixed(2));
      expect(s.availableCash).toBe(s.cash);
      await assertLedgerInvariants(server.app.db.db, m.portfolioId);
    }
  }, 150_000);
});
