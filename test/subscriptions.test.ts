import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, newUser, waitFor, wsClient } from './support/gql.js';
import { Decimal } from '../src/lib/decimal.js';
import { createFundedPortfolio, placeOrder, waitForQuote, waitForStatus } from './support/trading.js';

type OrderEv = { orderUpdated: { sequence: number; order: { id: string; status: string } } };
type BalanceEv = { balanceChanged: { sequence: number; cash: string; availableCash: string; reason: string } };
const ORDERS = `subscription($p:ID,$a:Int){ orderUpdated(portfolioId:$p, afterSequence:$a){ sequence order { id status } } }`;

describe.each(modes())('subscriptions: resume, isolation and quotes (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    await waitForQuote(server, 'SBIN');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('resumes after a dropped socket with afterSequence, without a gap or a repeat', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token);
    const ws1 = wsClient(server, u.token);
    const first = collect<OrderEv>(ws1, ORDERS, { p: pid, a: 0 });
    const a = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'SBIN', side: 'BUY', type: 'MARKET', quantity: '1' });
    await waitFor('first order filled event', () => first.items.some((e) => e.orderUpdated.order.id === a.id && e.orderUpdated.order.status === 'FILLED'));
    const lastSeen = first.items.at(-1)!.orderUpdated.sequence;
    await ws1.terminate(); // the socket drops: no complete, no goodbye

    // While nobody listens, more happens.
    const b = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'SBIN', side: 'BUY', type: 'MARKET', quantity: '2' });
    await waitForStatus(server, u.token, b.id, ['FILLED']);
    const c = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'SBIN', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '1.00' });
    await waitForStatus(server, u.token, c.id, ['OPEN']);

    const ws2 = wsClient(server, u.token);
    const resumed = collect<OrderEv>(ws2, ORDERS, { p: pid, a: lastSeen });
    await waitFor('replayed events of the missed orders', () => resumed.items.some((e) => e.orderUpdated.order.id === c.id && e.orderUpdated.order.status === 'OPEN'));
    // And then live: cancel c.
    await must(server, `mutation($id:ID!){ cancelOrder(id:$id){ id } }`, { id: c.id }, u.token);
    await waitFor('live CANCELED event', () => resumed.items.some((e) => e.orderUpdated.order.id === c.id && e.orderUpdated.order.status === 'CANCELED'));
    const seqs = resumed.items.map((e) => e.orderUpdated.sequence);
    expect(seqs[0]).toBeGreaterThan(lastSeen);
    expect(new Set(seqs).size).toBe(seqs.length); // no repeats
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs); // in order
    const statusesOfB = resumed.items.filter((e) => e.orderUpdated.order.id === b.id).map((e) => e.orderUpdated.order.status);
    expect(statusesOfB[0]).toBe('PENDING');
    expect(statusesOfB.at(-1)).toBe('FILLED');
    // Nothing of order a (seen before the drop) is replayed.
    expect(resumed.items.some((e) => e.orderUpdated.order.id === a.id)).toBe(false);
    await ws2.dispose();
  });

  it('pushes balance changes, and shows nobody else’s portfolio', async () => {
    const u = await newUser(server);
    const other = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '0' });
    const mine = wsClient(server, u.token);
    const theirs = wsClient(server, other.token);
    const balances = collect<BalanceEv>(mine, `subscription($c:[PortfolioCursorInput!]){ balanceChanged(after:$c){ sequence cash availableCash reason } }`, {
      c: [{ portfolioId: pid, sequence: 0 }],
    });
    const spy = collect<BalanceEv>(theirs, `subscription{ balanceChanged{ sequence cash reason } }`);
    const direct = collect<BalanceEv>(theirs, `subscription($p:ID){ balanceChanged(portfolioId:$p){ sequence } }`, { p: pid });
    await new Promise((r) => setTimeout(r, 300));
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"2500.50"){ id } }`, { p: pid }, u.token);
    await waitFor('balance event', () => balances.items.length > 0);
    expect(balances.items[0].balanceChanged).toMatchObject({ cash: '2500.50', availableCash: '2500.50', reason: 'DEPOSIT' });
    await waitFor('the other user’s direct subscription to be refused', () => direct.errors.length > 0);
    expect(JSON.stringify(direct.errors)).toMatch(/NOT_FOUND/);
    await new Promise((r) => setTimeout(r, 300));
    expect(spy.items).toEqual([]);
    await mine.dispose();
    await theirs.dispose();
  });

  it('answers quote, Instrument.quote and streams quotes(symbols)', async () => {
    const u = await newUser(server);
    const q = await must<{ quote: { symbol: string; bid: string; ask: string; last: string } }>(server, `{ quote(symbol:"SBIN"){ symbol exchange bid ask last volume timestamp } }`, {}, u.token);
    expect(q.quote.symbol).toBe('SBIN');
    expect(new Decimal(q.quote.bid).lt(q.quote.ask)).toBe(true);
    const inst = await must<{ instruments: { symbol: string; currency: string; tickSize: string; quote: { last: string } | null }[] }>(
      server,
      `{ instruments(search:"AAP"){ symbol exchange currency lotSize tickSize quote { last } } }`,
      {},
      u.token,
    );
    expect(inst.instruments.map((i) => i.symbol)).toContain('AAPL');
    expect(errorCode(await gql(server, `{ quote(symbol:"NOPE"){ last } }`, {}, u.token))).toBe('NOT_FOUND');

    const ws = wsClient(server, u.token);
    const stream = collect<{ quotes: { symbol: string; last: string } }>(ws, `subscription{ quotes(symbols:["SBIN","NASDAQ:AAPL"]){ symbol exchange last bid ask timestamp } }`);
    await waitFor('quotes for both symbols', () => new Set(stream.items.map((i) => i.quotes.symbol)).size === 2);
    const bad = collect(ws, `subscription{ quotes(symbols:["NOPE"]){ symbol } }`);
    await waitFor('unknown symbol refused', () => bad.errors.length > 0);
    expect(JSON.stringify(bad.errors)).toMatch(/BAD_USER_INPUT/);
    await ws.dispose();
  });
});
