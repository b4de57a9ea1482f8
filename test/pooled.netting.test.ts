/**
 * A pooled master account on paper, as an admin and several members use it through GraphQL: member
 * orders wait for the window (never sent alone), one parent per instrument goes to the broker for the
 * net, the crossed part fills at the parent's average price (at the quote mid when the window nets to
 * zero), and every child's fills, fees and cash match an independent pro-rata computation done here
 * from the broker's own record of the parent's executions. Cancels before the close never reach the
 * broker; reconciliation shows broker and members agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { errorCode, gql, must, newUser, sleep, waitFor } from './support/gql.js';
import { assertLedgerInvariants, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { adminEmail, registerAdmin, type Person } from './support/people.js';
import { Decimal } from '../src/lib/decimal.js';
import type { PaperBroker } from '../src/brokers/paper/paper.broker.js';

type Child = { id: string; createdAt: string; quantity: string; side: string; owner: Person; portfolioId: string };
type Exec = { quantity: Decimal; price: Decimal; fee: Decimal };

/** Independent largest-remainder split, in BigInt units: floors, then the largest remainders, then time. */
function split(total: bigint, claims: { key: string; weight: bigint; rank: number }[]): Map<string, bigint> {
  const W = claims.reduce((s, c) => s + c.weight, 0n);
  const out = new Map<string, bigint>();
  if (W === 0n || total === 0n) {
    for (const c of claims) out.set(c.key, 0n);
    return out;
  }
  const parts = claims.map((c) => ({ c, floor: (total * c.weight) / W, rem: (total * c.weight) % W }));
  let left = total - parts.reduce((s, p) => s + p.floor, 0n);
  for (const p of [...parts].sort((a, b) => (a.rem === b.rem ? a.c.rank - b.c.rank : a.rem > b.rem ? -1 : 1))) {
    const extra = left > 0n && p.rem > 0n ? 1n : 0n;
    left -= extra;
    out.set(p.c.key, p.floor + extra);
  }
  return out;
}
const cents = (d: Decimal) => BigInt(d.mul(100).toFixed(0));

/** What every child should have got: parent fills in broker order, then the crossed part, each pro rata to what is left. */
function expectedFills(children: Child[], parentSide: string, brokerFills: Exec[], crossed: Decimal, crossedPrice: Decimal | null): Map<string, Exec[]> {
  const ordered = [...children].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  const left = new Map(ordered.map((c) => [c.id, BigInt(new Decimal(c.quantity).toFixed(0))]));
  const got = new Map<string, Exec[]>(ordered.map((c) => [c.id, []]));
  const give = (side: string, q: Decimal, price: Decimal, fee: Decimal) => {
    const kids = ordered.filter((c) => c.side === side);
    const qs = split(BigInt(q.toFixed(0)), kids.map((c, rank) => ({ key: c.id, weight: left.get(c.id)!, rank })));
    const fees = split(cents(fee), kids.filter((c) => qs.get(c.id)! > 0n).map((c, rank) => ({ key: c.id, weight: qs.get(c.id)!, rank })));
    for (const c of kids) {
      const n = qs.get(c.id)!;
      if (n === 0n) continue;
      left.set(c.id, left.get(c.id)! - n);
      got.get(c.id)!.push({ quantity: new Decimal(n.toString()), price, fee: new Decimal((fees.get(c.id) ?? 0n).toString()).div(100) });
    }
  };
  for (const f of brokerFills) give(parentSide, f.quantity, f.price, f.fee);
  if (crossed.gt(0) && crossedPrice) for (const side of ['BUY', 'SELL']) give(side, crossed, crossedPrice, new Decimal(0));
  return got;
}

describe.each(modes())('a pooled master account nets members’ orders in one window (%s)', (mode) => {
  let server: TestServer;
  let admin: Person;
  let accountId: string;
  const members: { person: Person; portfolioId: string; deposit: Decimal }[] = [];

  const child = async (m: (typeof members)[number], side: string, quantity: string): Promise<Child> => {
    const o = await placeOrder(server, m.person.token, { portfolioId: m.portfolioId, symbol: 'RELIANCE', side, type: 'MARKET', quantity });
    const d = await must<{ order: { createdAt: string } }>(server, `query($id:ID!){ order(id:$id){ createdAt } }`, { id: o.id }, m.person.token);
    return { id: o.id, createdAt: d.order.createdAt, quantity, side, owner: m.person, portfolioId: m.portfolioId };
  };
  const close = () =>
    must<{ closePooledWindow: { id: string; side: string; quantity: string; crossedQuantity: string; status: string }[] }>(
      server,
      `mutation($id:ID!){ closePooledWindow(id:$id){ id side quantity crossedQuantity status } }`,
      { id: accountId },
      admin.token,
    ).then((d) => d.closePooledWindow.map((p) => ({ ...p, quantity: new Decimal(p.quantity).toFixed(), crossedQuantity: new Decimal(p.crossedQuantity).toFixed() })));
  const parentAtBroker = async (parentId: string) => {
    const paper = server.app.brokers.get('paper');
    const o = await paper.getOrder(accountId, { clientOrderId: `pool-${parentId}` });
    return o ? { order: o, fills: await paper.getFills(accountId, o.brokerOrderId) } : null;
  };

  /** Every child finished, and its fills equal the independent computation; cash moved by exactly those fills. */
  async function checkWindow(children: Child[], parent: { id: string; side: string; quantity: string; crossedQuantity: string }, crossedPrice?: Decimal) {
    for (const c of children) await waitForStatus(server, c.owner.token, c.id, ['FILLED', 'CANCELED', 'REJECTED']);
    const remote = new Decimal(parent.quantity).gt(0) ? await parentAtBroker(parent.id) : null;
    const brokerFills = (remote?.fills ?? []).map((f) => ({ quantity: new Decimal(f.quantity), price: new Decimal(f.price), fee: new Decimal(f.fee) }));
    const filledAtBroker = brokerFills.reduce((s, f) => s.add(f.quantity), new Decimal(0));
    const vwap = filledAtBroker.gt(0) ? brokerFills.reduce((s, f) => s.add(f.quantity.mul(f.price)), new Decimal(0)).div(filledAtBroker).toDecimalPlaces(8) : null;
    const want = expectedFills(children, parent.side, brokerFills, new Decimal(parent.crossedQuantity), crossedPrice ?? vwap);
    for (const c of children) {
      const d = await must<{ order: { fills: { quantity: string; price: string; fee: string; brokerFillId: string | null; executedAt: string }[]; parentOrder: { id: string } | null } }>(
        server,
        `query($id:ID!){ order(id:$id){ fills { quantity price fee brokerFillId executedAt } parentOrder { id } } }`,
        { id: c.id },
        c.owner.token,
      );
      expect(d.order.parentOrder?.id).toBe(parent.id);
      // Each fill names its parent and the broker's execution it is a share of (or the internal cross).
      const executions = new Set([...(remote?.fills ?? []).map((f) => `${parent.id}:${f.brokerFillId}`), `${parent.id}:cross`]);
      for (const f of d.order.fills) expect(executions, `brokerFillId of child ${c.side} ${c.quantity}`).toContain(f.brokerFillId);
      // A share of a broker execution happened when the broker executed it (not when it was allocated).
      const at = new Map((remote?.fills ?? []).map((f) => [`${parent.id}:${f.brokerFillId}`, new Date(f.executedAt).getTime()]));
      for (const f of d.order.fills) {
        if (at.has(f.brokerFillId!)) expect(new Date(f.executedAt).getTime(), `executedAt of child ${c.side} ${c.quantity}`).toBe(at.get(f.brokerFillId!));
      }
      const norm = (xs: Exec[]) => xs.map((f) => `${f.quantity.toFixed(2)}@${f.price.toFixed(8)}+${f.fee.toFixed(2)}`).sort();
      expect(norm(d.order.fills.map((f) => ({ quantity: new Decimal(f.quantity), price: new Decimal(f.price), fee: new Decimal(f.fee) }))), `fills of child ${c.side} ${c.quantity}`).toEqual(
        norm(want.get(c.id)!),
      );
    }
    return { brokerFills, vwap };
  }

  async function checkCash() {
    // Cash of each member = deposit − Σ buys − fees + Σ sells, over every fill it ever got (exact).
    for (const m of members) {
      const d = await must<{ portfolio: { cash: string; orders: { edges: { node: { side: string; fills: { quantity: string; price: string; fee: string }[] } }[] } } }>(
        server,
        `query($id:ID!){ portfolio(id:$id){ cash orders(first:10){ edges { node { side fills { quantity price fee } } } } } }`,
        { id: m.portfolioId },
        m.person.token,
      );
      let cash = m.deposit;
      for (const e of d.portfolio.orders.edges) {
        for (const f of e.node.fills) {
          const n = new Decimal(f.quantity).mul(f.price);
          cash = cash.add(e.node.side === 'BUY' ? n.neg() : n).sub(f.fee);
        }
      }
      expect(new Decimal(d.portfolio.cash).eq(cash.toDecimalPlaces(2))).toBe(true);
      await assertLedgerInvariants(server.app.db.db, m.portfolioId);
    }
  }

  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail(), POOLED_RECONCILE_MS: '300' } });
    await waitForQuote(server, 'RELIANCE');
    admin = await registerAdmin(server);
    // A day-long window: only closePooledWindow closes it during the test (the job would at midnight UTC).
    const d = await must<{ createPooledAccount: { id: string; windowMs: number } }>(
      server,
      `mutation{ createPooledAccount(name:"pool-${mode}-${Date.now()}", broker:"paper", windowMs:86400000){ id windowMs } }`,
      {},
      admin.token,
    );
    accountId = d.createPooledAccount.id;
    for (let i = 0; i < 4; i++) {
      const person = await newUser(server, `member${i}`);
      const p = await must<{ createPortfolio: { id: string } }>(
        server,
        `mutation($a:ID){ createPortfolio(name:"pooled", pooledAccountId:$a){ id } }`,
        { a: accountId },
        person.token,
      );
      const deposit = new Decimal('1000000');
      await must(server, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: p.createPortfolio.id, a: deposit.toFixed() }, person.token);
      members.push({ person, portfolioId: p.createPortfolio.id, deposit });
    }
  });
  afterAll(async () => {
    await server?.close();
  });

  it('only an admin creates or lists pooled accounts; a member portfolio shows in the account', async () => {
    const r = await gql(server, `mutation{ createPooledAccount(name:"nope", broker:"paper"){ id } }`, {}, members[0].person.token);
    expect(errorCode(r)).toBe('FORBIDDEN');
    expect(errorCode(await gql(server, `{ pooledAccounts { id } }`, {}, members[0].person.token))).toBe('FORBIDDEN');
    const bad = await gql(server, `mutation{ createPooledAccount(name:"x", broker:"paper", windowMs:5){ id } }`, {}, admin.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'windowMs' });
    const d = await must<{ pooledAccounts: { id: string; members: { id: string }[] }[] }>(server, `{ pooledAccounts { id members { id } } }`, {}, admin.token);
    expect(d.pooledAccounts.find((a) => a.id === accountId)?.members.map((m) => m.id).sort()).toEqual(members.map((m) => m.portfolioId).sort());
  });

  it('members’ buys wait for the window, then go out as ONE parent and are allocated pro rata', async () => {
    const kids = [await child(members[0], 'BUY', '31'), await child(members[1], 'BUY', '17'), await child(members[2], 'BUY', '52')];
    await sleep(700); // the submit jobs have run: nothing was sent on its own
    for (const k of kids) expect((await must<{ order: { status: string } }>(server, `query($id:ID!){ order(id:$id){ status } }`, { id: k.id }, k.owner.token)).order.status).toBe('PENDING');
    for (const m of members) expect(await server.app.brokers.get('paper').listOrders(m.portfolioId)).toEqual([]);
    const parents = await close();
    expect(parents).toHaveLength(1);
    expect(parents[0]).toMatchObject({ side: 'BUY', quantity: '100', crossedQuantity: '0' });
    await checkWindow(kids, parents[0]);
    expect(new Decimal((await parentAtBroker(parents[0].id))!.order.quantity).eq(100)).toBe(true);
    await checkCash();
  });

  it('buys and sells in one window net: only the net goes out, the crossed part fills at the parent’s average price', async () => {
    const before = (await server.app.brokers.get('paper').listOrders(accountId)).length;
    const kids = [
      await child(members[0], 'SELL', '10'),
      await child(members[1], 'BUY', '25'),
      await child(members[2], 'SELL', '7'),
      await child(members[3], 'BUY', '11'),
    ];
    const parents = await close();
    expect(parents).toHaveLength(1);
    expect(parents[0]).toMatchObject({ side: 'BUY', quantity: '19', crossedQuantity: '17' });
    const { vwap } = await checkWindow(kids, parents[0]);
    expect(vwap).not.toBeNull();
    // One broker order for the window, and every sell filled at the parent's average price.
    expect((await server.app.brokers.get("paper").listOrders(accountId)).length - before).toBe(1);
    const sell = await must<{ order: { fills: { price: string }[] } }>(server, `query($id:ID!){ order(id:$id){ fills { price } } }`, { id: kids[0].id }, members[0].person.token);
    expect(sell.order.fills.every((f) => new Decimal(f.price).eq(vwap!))).toBe(true);
    await checkCash();
  });

  it('a window that nets to zero sends nothing and crosses at the quote mid', async () => {
    const paper = server.app.brokers.get('paper');
    const before = (await paper.listOrders(accountId)).length;
    const kids = [await child(members[1], 'SELL', '6'), await child(members[3], 'BUY', '6')];
    const parents = await close();
    expect(parents).toHaveLength(1);
    expect(parents[0]).toMatchObject({ quantity: '0', crossedQuantity: '6', status: 'FILLED' });
    const d = await must<{ pooledAccounts: { id: string; parentOrders: { edges: { node: { id: string; averageFillPrice: string | null; children: { id: string }[] } }[] } }[] }>(
      server,
      `{ pooledAccounts { id parentOrders(first:1){ edges { node { id averageFillPrice children { id } } } } } }`,
      {},
      admin.token,
    );
    const node = d.pooledAccounts.find((a) => a.id === accountId)!.parentOrders.edges[0].node;
    expect(node.id).toBe(parents[0].id);
    expect(node.children.map((c) => c.id).sort()).toEqual(kids.map((k) => k.id).sort());
    for (const k of kids) await waitForStatus(server, k.owner.token, k.id, ['FILLED']);
    const fills = await Promise.all(kids.map((k) => must<{ order: { fills: { price: string; fee: string }[] } }>(server, `query($id:ID!){ order(id:$id){ fills { price fee } } }`, { id: k.id }, k.owner.token)));
    // Both sides at one price (the mid at close), no fee, and nothing at the broker.
    expect(fills[0].order.fills[0].price).toBe(fills[1].order.fills[0].price);
    expect(fills.every((f) => new Decimal(f.order.fills[0].fee).isZero())).toBe(true);
    expect((await paper.listOrders(accountId)).length).toBe(before);
    await checkCash();
  });

  it('a child canceled before its window closes never reaches the broker', async () => {
    const paper = server.app.brokers.get('paper');
    const before = (await paper.listOrders(accountId)).length;
    const k = await child(members[2], 'BUY', '9');
    const c = await must<{ cancelOrder: { status: string } }>(server, `mutation($id:ID!){ cancelOrder(id:$id){ status } }`, { id: k.id }, k.owner.token);
    expect(c.cancelOrder.status).toBe('CANCELED');
    expect(await close()).toEqual([]);
    expect((await paper.listOrders(accountId)).length).toBe(before);
    const state = await portfolioState(server, k.owner.token, k.portfolioId);
    expect(state.availableCash).toBe(state.cash); // its hold released
  });

  it('a parent placed at the broker whose response was lost (a worker dying before allocation) is adopted and allocated exactly once', async () => {
    const paper = server.app.brokers.get('paper') as PaperBroker;
    const kids = [await child(members[0], 'BUY', '5'), await child(members[3], 'BUY', '7')];
    paper.injectFault({ op: 'placeOrder', kind: 'lost-response' });
    const parents = await close();
    expect(parents).toHaveLength(1);
    await checkWindow(kids, parents[0]);
    // Replays of the parent's job (a retried worker) allocate nothing twice.
    await server.app.queue.add('pooled-parent', { parentId: parents[0].id }, { jobId: `replay-${parents[0].id}` });
    await sleep(500);
    await checkWindow(kids, parents[0]);
    const remote = await paper.listOrders(accountId);
    expect(remote.filter((o) => o.clientOrderId === `pool-${parents[0].id}`)).toHaveLength(1);
    await checkCash();
  });

  it('after its window closed a child whose parent is not yet at the broker cannot be canceled (INVALID_ORDER_STATE); a parent the broker refused for a moment is placed by the sweep', async () => {
    const paper = server.app.brokers.get('paper') as PaperBroker;
    const kids = [await child(members[1], 'BUY', '4'), await child(members[2], 'BUY', '2')];
    paper.injectFault({ op: 'placeOrder', kind: 'transient' });
    const parents = await close();
    expect(parents).toHaveLength(1);
    const r = await gql(server, `mutation($id:ID!){ cancelOrder(id:$id){ status } }`, { id: kids[0].id }, kids[0].owner.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_ORDER_STATE' });
    // Nothing reached the broker; the window job's sweep places the parent once the children have waited 5 s.
    await checkWindow(kids, parents[0]);
    expect((await paper.listOrders(accountId)).filter((o) => o.clientOrderId === `pool-${parents[0].id}`)).toHaveLength(1);
    await checkCash();
  }, 30_000);

  it('the window job closes a short window by itself: orders of two members go out as one parent', async () => {
    const d = await must<{ createPooledAccount: { id: string } }>(server, `mutation{ createPooledAccount(name:"short-${mode}-${Date.now()}", broker:"paper", windowMs:300){ id } }`, {}, admin.token);
    const ids: { o: string; who: Person }[] = [];
    for (const q of ['3', '4']) {
      const who = await newUser(server, 'short');
      const p = await must<{ createPortfolio: { id: string } }>(server, `mutation($a:ID){ createPortfolio(name:"s", pooledAccountId:$a){ id } }`, { a: d.createPooledAccount.id }, who.token);
      await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"100000"){ id } }`, { p: p.createPortfolio.id }, who.token);
      ids.push({ o: (await placeOrder(server, who.token, { portfolioId: p.createPortfolio.id, symbol: 'TCS', side: 'BUY', type: 'MARKET', quantity: q })).id, who });
    }
    for (const { o, who } of ids) await waitForStatus(server, who.token, o, ['FILLED']);
    const parents = await Promise.all(ids.map(({ o, who }) => must<{ order: { parentOrder: { id: string } } }>(server, `query($id:ID!){ order(id:$id){ parentOrder { id } } }`, { id: o }, who.token)));
    // Both in one window (one parent) unless the boundary fell between the two placements: then two.
    const distinct = new Set(parents.map((p) => p.order.parentOrder.id));
    expect((await server.app.brokers.get('paper').listOrders(d.createPooledAccount.id)).length).toBe(distinct.size);
  });

  it('reconciliation: the broker account’s positions equal the sum of the members’', async () => {
    const d = await must<{ pooledAccounts: { id: string; reconciliation: { instrument: { symbol: string }; brokerQuantity: string; ledgerQuantity: string; difference: string }[] }[] }>(
      server,
      `{ pooledAccounts { id reconciliation { instrument { symbol } brokerQuantity ledgerQuantity difference } } }`,
      {},
      admin.token,
    );
    const lines = d.pooledAccounts
      .find((a) => a.id === accountId)!
      .reconciliation.map((l) => ({ ...l, brokerQuantity: new Decimal(l.brokerQuantity).toFixed(), ledgerQuantity: new Decimal(l.ledgerQuantity).toFixed(), difference: new Decimal(l.difference).toFixed() }));
    // 100 bought, then +19 net, 12 after a lost response, 6 after a refused placement: 137 on both sides.
    expect(lines).toEqual([{ instrument: { symbol: 'RELIANCE' }, brokerQuantity: '137', ledgerQuantity: '137', difference: '0' }]);
  });

  it('a broker position the members do not account for shows as a difference and admins are notified', async () => {
    const paper = server.app.brokers.get('paper');
    // A trade on the master account outside any window (someone used the broker account directly).
    await paper.placeOrder({
      clientOrderId: `manual-${Date.now()}`,
      account: accountId,
      instrument: { symbol: 'RELIANCE', exchange: 'NSE', currency: 'INR', tickSize: '0.10', lotSize: '1' },
      side: 'BUY',
      type: 'MARKET',
      timeInForce: 'DAY',
      quantity: '1',
    });
    const d = await must<{ pooledAccounts: { id: string; reconciliation: { difference: string }[] }[] }>(server, `{ pooledAccounts { id reconciliation { difference } } }`, {}, admin.token);
    expect(d.pooledAccounts.find((a) => a.id === accountId)!.reconciliation.map((l) => new Decimal(l.difference).toFixed())).toEqual(['1']);
    await waitFor('the admin to be notified', async () => {
      const n = await must<{ notifications: { edges: { node: { kind: string; data: { pooledAccountId?: string } } }[] } }>(server, `{ notifications(first:20){ edges { node { kind data } } } }`, {}, admin.token);
      return n.notifications.edges.some((e) => e.node.kind === 'pooled.reconciliation_mismatch' && e.node.data.pooledAccountId === accountId);
    });
    // A member is not told.
    const m = await must<{ notifications: { edges: { node: { kind: string } }[] } }>(server, `{ notifications(first:50){ edges { node { kind } } } }`, {}, members[0].person.token);
    expect(m.notifications.edges.some((e) => e.node.kind === 'pooled.reconciliation_mismatch')).toBe(false);
  });
});
