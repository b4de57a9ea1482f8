/**
 * The last member of its side with anything unfilled cancels after its window closed, through GraphQL,
 * while the parent rests at the paper exchange partly filled (the market is held still): the parent is
 * CANCELED at the broker (whether or not the broker can reduce an order), the child ends CANCELED with
 * what it was allocated, plus its part of the window's crossed fill at the parent's average price; the
 * other side's orders fill. A share that reaches into a crossed part other members still share is
 * refused (PARENT_TOO_SMALL). A cancel that races a fill completing the parent is refused as a direct
 * order's too-late cancel, the child FILLED. A lost cancel response, a process killed after the broker's
 * cancel acknowledgement, and one killed before the broker was asked all settle once, from the broker's
 * view of the parent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { gql, must, newUser, waitFor } from './support/gql.js';
import { assertLedgerInvariants, getOrder, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { adminEmail, registerAdmin, type Person } from './support/people.js';
import type { PaperBroker } from '../src/brokers/paper/paper.broker.js';
import type { BrokerOrder } from '../src/brokers/broker.js';
import { outboxEvents, pooledChildren, pooledParentOrders, pooledParentReductions } from '../src/db/schema/index.js';
import { PARENT_CANCELED_REASON } from '../src/services/pooled/child-cancel.service.js';
import { Decimal } from '../src/lib/decimal.js';

/** The fields of an outbox payload these checks read. */
type EventPayload = { order?: { status?: string }; reason?: string };

type Member = { person: Person; portfolioId: string };
const DEPOSIT = '100000000';
const d = (x: string | number | Decimal) => new Decimal(x).toFixed();

describe.each(modes())('canceling the last pooled child of its side after the close cancels the parent (%s)', (mode) => {
  let server: TestServer;
  let admin: Person;
  let paper: PaperBroker;

  const account = async () =>
    (
      await must<{ createPooledAccount: { id: string } }>(
        server,
        `mutation($n:String!){ createPooledAccount(name:$n, broker:"paper", windowMs:86400000){ id } }`,
        { n: `cparent-${mode}-${Date.now()}-${Math.random()}` },
        admin.token,
      )
    ).createPooledAccount.id;
  const member = async (accountId: string): Promise<Member> => {
    const person = await newUser(server, 'pcparent');
    const p = await must<{ createPortfolio: { id: string } }>(server, `mutation($a:ID){ createPortfolio(name:"pooled", pooledAccountId:$a){ id } }`, { a: accountId }, person.token);
    await must(server, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: p.createPortfolio.id, a: DEPOSIT }, person.token);
    return { person, portfolioId: p.createPortfolio.id };
  };
  const order = (m: Member, symbol: string, side: 'BUY' | 'SELL', quantity: string) => placeOrder(server, m.person.token, { portfolioId: m.portfolioId, symbol, side, type: 'MARKET', quantity });
  const close = async (accountId: string) =>
    (await must<{ closePooledWindow: { id: string }[] }>(server, `mutation($id:ID!){ closePooledWindow(id:$id){ id } }`, { id: accountId }, admin.token)).closePooledWindow;
  const cancel = (m: Member, id: string) => gql<{ cancelOrder: { status: string; filledQuantity: string } }>(server, `mutation($id:ID!){ cancelOrder(id:$id){ status filledQuantity } }`, { id }, m.person.token);
  const remote = async (accountId: string, parentId: string): Promise<BrokerOrder> => (await paper.listOrders(accountId)).find((o) => o.clientOrderId === `pool-${parentId}`)!;
  const parentRow = async (id: string) => (await server.app.db.db.select().from(pooledParentOrders).where(eq(pooledParentOrders.id, id)))[0];
  const reductionOf = async (childId: string) => (await server.app.db.db.select().from(pooledParentReductions).where(eq(pooledParentReductions.childOrderId, childId)))[0];
  const market = () => server.app.market()!;
  const firstFillAllocated = (parentId: string) => waitFor('the parent’s first fill allocated', async () => new Decimal((await parentRow(parentId)).filledQuantity).gt(0), 15_000);
  const spent = (o: Record<string, any>) =>
    (o.fills as { quantity: string; price: string; fee: string }[]).reduce((s, f) => s.add(new Decimal(f.quantity).mul(f.price)).add(o.side === 'BUY' ? f.fee : new Decimal(f.fee).neg()), new Decimal(0));
  const sum = (xs: (string | Decimal)[]) => xs.reduce<Decimal>((s, x) => s.add(x), new Decimal(0));
  /** Cash = deposit − Σ(buys' notional + fees) + Σ(sells' notional − fees) − `before`, no hold left, the ledger sums to it. */
  const cashExact = async (m: Member, ordersOf: Record<string, any>[]) => {
    const s = await portfolioState(server, m.person.token, m.portfolioId);
    const flow = sum(ordersOf.map((o) => (o.side === 'BUY' ? spent(o).neg() : spent(o))));
    expect(new Decimal(s.cash).toFixed(2)).toBe(new Decimal(DEPOSIT).add(flow).toFixed(2));
    expect(s.availableCash, 'no hold left').toBe(s.cash);
    await assertLedgerInvariants(server.app.db.db, m.portfolioId);
  };

  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail() } });
    for (const s of ['ITC', 'RELIANCE', 'TCS', 'INFY', 'SBIN', 'WIPRO']) await waitForQuote(server, s);
    admin = await registerAdmin(server);
    paper = server.app.brokers.get('paper') as PaperBroker;
  }, 120_000);
  afterAll(async () => {
    market().start();
    await server?.close();
  });

  it('a member alone on the net side cancels the whole parent, even on a broker that cannot reduce: CANCELED with what it had, the parent canceled at the broker', async () => {
    const accountId = await account();
    const a = await member(accountId);
    await market().stop();
    const kid = await order(a, 'RELIANCE', 'BUY', '5000');
    const [parent] = await close(accountId);
    await firstFillAllocated(parent.id);
    const before = await getOrder(server, a.person.token, kid.id);
    expect(before.status).toBe('PARTIALLY_FILLED');

    Object.defineProperty(paper, 'reduceOrder', { value: undefined, configurable: true });
    let r;
    try {
      r = await cancel(a, kid.id);
    } finally {
      delete (paper as { reduceOrder?: unknown }).reduceOrder;
    }
    expect(r.errors).toBeUndefined();
    expect(r.data!.cancelOrder).toEqual({ status: 'CANCELED', filledQuantity: before.filledQuantity });
    const atBroker = await remote(accountId, parent.id);
    expect(atBroker.status).toBe('CANCELED');
    expect(d(atBroker.filledQuantity)).toBe(d(before.filledQuantity));
    const p = await parentRow(parent.id);
    expect(p.status).toBe('CANCELED');
    expect(d(p.filledQuantity)).toBe(d(before.filledQuantity));
    expect(d(p.quantity)).toBe('5000'); // canceled, not reduced
    expect(await reductionOf(kid.id)).toMatchObject({ kind: 'CANCEL', status: 'DONE' });
    const end = await getOrder(server, a.person.token, kid.id);
    expect(end.rejectReason).toBe(PARENT_CANCELED_REASON);
    // The events a direct order's cancel emits, once, gap-free.
    const events = await server.app.db.db.select().from(outboxEvents).where(eq(outboxEvents.portfolioId, a.portfolioId)).orderBy(outboxEvents.sequence);
    expect(events.slice(-2).map((e) => ({ type: e.type, status: (e.payload as EventPayload).order?.status, reason: (e.payload as EventPayload).reason }))).toEqual([
      { type: 'ORDER_UPDATED', status: 'CANCELED', reason: undefined },
      { type: 'BALANCE_CHANGED', status: undefined, reason: 'ORDER_CANCELED' },
    ]);
    expect(events.filter((e) => (e.payload as EventPayload).order?.status === 'CANCELED')).toHaveLength(1);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => events[0].sequence + i));
    await cashExact(a, [end]);
    // A second cancel: the order has ended.
    expect((await cancel(a, kid.id)).errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_ORDER_STATE' });
    market().start();
    const fills = await paper.getFills(accountId, atBroker.brokerOrderId);
    expect(d(sum(fills.map((f) => f.quantity)))).toBe(d(before.filledQuantity));
  }, 120_000);

  it('with a crossed part: a share reaching into the cross others share is refused; once it is the last buy, it cancels the parent and gets the cross at the parent’s price; the sell fills', async () => {
    const accountId = await account();
    const [a, b, c] = [await member(accountId), await member(accountId), await member(accountId)];
    const own = await order(c, 'ITC', 'BUY', '3000');
    await close(accountId);
    const ownEnd = await waitForStatus(server, c.person.token, own.id, ['FILLED'], 60_000);

    await market().stop();
    const kidA = await order(a, 'ITC', 'BUY', '6000');
    const kidB = await order(b, 'ITC', 'BUY', '1000');
    const kidC = await order(c, 'ITC', 'SELL', '3000');
    const [parent] = await close(accountId);
    await firstFillAllocated(parent.id);
    const p0 = await parentRow(parent.id);
    expect([d(p0.quantity), d(p0.crossedQuantity)]).toEqual(['4000', '3000']);
    expect(new Decimal(p0.filledQuantity).lt(3500), 'the first quote leaves room for b’s reduce').toBe(true);

    // a's unfilled share is more than the parent has left at the broker, and b still shares the cross.
    const tooSmall = await cancel(a, kidA.id);
    expect(tooSmall.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_ORDER_STATE', reason: 'PARENT_TOO_SMALL' });
    expect(d((await remote(accountId, parent.id)).quantity)).toBe('4000');

    // b reduces the parent; then a is the last buy with anything unfilled, and cancels it.
    const seenB = await getOrder(server, b.person.token, kidB.id);
    expect((await cancel(b, kidB.id)).data?.cancelOrder.status).toBe('CANCELED');
    const afterB = new Decimal('4000').sub(new Decimal('1000').sub(seenB.filledQuantity));
    expect(d((await remote(accountId, parent.id)).quantity)).toBe(d(afterB));
    const seenA = await getOrder(server, a.person.token, kidA.id);
    const ra = await cancel(a, kidA.id);
    expect(ra.errors).toBeUndefined();
    expect(ra.data!.cancelOrder.status).toBe('CANCELED');
    expect(d(ra.data!.cancelOrder.filledQuantity), 'what it had, plus the crossed 3,000').toBe(d(new Decimal(seenA.filledQuantity).add(3000)));

    const atBroker = await remote(accountId, parent.id);
    expect(atBroker.status).toBe('CANCELED');
    const p = await parentRow(parent.id);
    expect(p.status).toBe('CANCELED');
    const endC = await waitForStatus(server, c.person.token, kidC.id, ['FILLED'], 15_000);
    expect(d(endC.filledQuantity)).toBe('3000');
    const endA = await getOrder(server, a.person.token, kidA.id);
    const endB = await getOrder(server, b.person.token, kidB.id);
    expect(endB.filledQuantity).toBe(seenB.filledQuantity); // nothing after its cancel
    // The cross: one price per side, the parent's average; a's cross fill and c's at that price.
    const crossPrice = d(p.crossedPrice!);
    expect(crossPrice).toBe(d(p.averageFillPrice!));
    expect(endC.fills.map((f: { price: string }) => d(f.price))).toEqual([crossPrice]);
    expect(endA.fills.filter((f: { price: string; quantity: string }) => d(f.price) === crossPrice && d(f.quantity) === '3000')).toHaveLength(1);
    // The broker's executions = the buys' fills less the cross = the parent's fills.
    const fills = await paper.getFills(accountId, atBroker.brokerOrderId);
    const executed = sum(fills.map((f) => f.quantity));
    expect(d(executed)).toBe(d(atBroker.filledQuantity));
    expect(d(p.filledQuantity)).toBe(d(executed));
    expect(d(new Decimal(endA.filledQuantity).add(endB.filledQuantity).sub(3000))).toBe(d(executed));
    await cashExact(a, [endA]);
    await cashExact(b, [endB]);
    await cashExact(c, [ownEnd, endC]);
    market().start();
  }, 150_000);

  it('a cancel that races a fill completing the parent is refused as a too-late cancel, and the child ends FILLED', async () => {
    const accountId = await account();
    const a = await member(accountId);
    await market().stop();
    const kid = await order(a, 'TCS', 'BUY', '4000');
    const [parent] = await close(accountId);
    await firstFillAllocated(parent.id);
    // The broker completes the parent just before the cancel reaches it.
    const original = paper.cancelOrder.bind(paper);
    Object.defineProperty(paper, 'cancelOrder', {
      configurable: true,
      value: async (acc: string, id: string) => {
        market().start();
        await waitFor('the broker filled the parent', async () => (await remote(accountId, parent.id)).status === 'FILLED', 60_000);
        return original(acc, id);
      },
    });
    let r;
    try {
      r = await cancel(a, kid.id);
    } finally {
      delete (paper as { cancelOrder?: unknown }).cancelOrder;
    }
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_ORDER_STATE', status: 'FILLED' });
    const end = await waitForStatus(server, a.person.token, kid.id, ['FILLED'], 15_000);
    expect(d(end.filledQuantity)).toBe('4000');
    expect(await reductionOf(kid.id)).toBeUndefined();
    expect((await parentRow(parent.id)).status).toBe('FILLED');
    await cashExact(a, [end]);
  }, 120_000);

  it('a lost cancel response, a process killed after the broker’s acknowledgement, and one killed before the broker was asked (fills arriving meanwhile): each settles once from the broker’s view', async () => {
    const accountId = await account();
    const [a, b, c] = [await member(accountId), await member(accountId), await member(accountId)];
    await market().stop();
    const kids = [await order(a, 'INFY', 'BUY', '5000'), await order(b, 'SBIN', 'BUY', '5000'), await order(c, 'WIPRO', 'BUY', '20000')];
    await close(accountId);
    const parentIds: string[] = [];
    for (const k of kids) {
      const [link] = await server.app.db.db.select().from(pooledChildren).where(eq(pooledChildren.orderId, k.id));
      parentIds.push(link.parentId);
      await firstFillAllocated(link.parentId);
    }
    const members = [a, b, c];
    const seen = await Promise.all(kids.map((k, i) => getOrder(server, members[i].person.token, k.id)));

    // a: the exchange cancels the parent, the response is lost; the cancel reads the parent back.
    paper.injectFault({ op: 'cancelOrder', kind: 'lost-response' });
    const ra = await cancel(a, kids[0].id);
    expect(ra.errors).toBeUndefined();
    expect(ra.data!.cancelOrder).toEqual({ status: 'CANCELED', filledQuantity: seen[0].filledQuantity });
    expect((await remote(accountId, parentIds[0])).status).toBe('CANCELED');

    // b: killed after the exchange acknowledged the cancel (the intent REQUESTED, the parent canceled there).
    // c: killed before the exchange was asked (the intent REQUESTED, the parent still open there).
    const intent = async (i: number, quantity: string) => {
      const p = await parentRow(parentIds[i]);
      await server.app.db.db.insert(pooledParentReductions).values({
        childOrderId: kids[i].id,
        parentId: parentIds[i],
        kind: 'CANCEL',
        quantity: d(new Decimal(quantity).sub(seen[i].filledQuantity)),
        fromQuantity: p.quantity,
        toQuantity: p.filledQuantity,
        createdAt: new Date(),
      });
    };
    await intent(1, '5000');
    await paper.cancelOrder(accountId, (await remote(accountId, parentIds[1])).brokerOrderId);
    await intent(2, '20000');
    // c's parent keeps filling at the broker meanwhile; the fills wait unallocated while the intent stands.
    market().start();
    await waitFor('the broker filled more of c’s parent', async () => new Decimal((await remote(accountId, parentIds[2])).filledQuantity).gt(seen[2].filledQuantity), 20_000);
    await market().stop();
    const cAtBroker = await remote(accountId, parentIds[2]);
    expect(cAtBroker.status).toBe('PARTIALLY_FILLED');
    expect((await getOrder(server, c.person.token, kids[2].id)).filledQuantity).toBe(seen[2].filledQuantity);

    // The window job's sweep settles both: b's from the broker's CANCELED, c's by sending the cancel.
    const endB = await waitForStatus(server, b.person.token, kids[1].id, ['CANCELED'], 30_000);
    const endC = await waitForStatus(server, c.person.token, kids[2].id, ['CANCELED'], 30_000);
    expect(endB.filledQuantity).toBe(seen[1].filledQuantity);
    expect(d(endC.filledQuantity), 'c gets what the broker filled before its cancel took effect').toBe(d(cAtBroker.filledQuantity));
    for (let i = 0; i < 3; i++) {
      const atBroker = await remote(accountId, parentIds[i]);
      expect(atBroker.status).toBe('CANCELED');
      const p = await parentRow(parentIds[i]);
      expect(p.status).toBe('CANCELED');
      const executions = await paper.getFills(accountId, atBroker.brokerOrderId);
      expect(d(p.filledQuantity), 'every execution recorded once').toBe(d(sum(executions.map((f) => f.quantity))));
      expect(await reductionOf(kids[i].id)).toMatchObject({ kind: 'CANCEL', status: 'DONE' });
      const end = await getOrder(server, members[i].person.token, kids[i].id);
      expect(d(end.filledQuantity)).toBe(d(p.filledQuantity));
      expect(end.rejectReason).toBe(PARENT_CANCELED_REASON);
      const events = await server.app.db.db.select().from(outboxEvents).where(eq(outboxEvents.portfolioId, members[i].portfolioId));
      expect(events.filter((e) => e.type === 'ORDER_UPDATED' && (e.payload as EventPayload).order?.status === 'CANCELED')).toHaveLength(1);
      await cashExact(members[i], [end]);
    }
    market().start();
  }, 150_000);
});
