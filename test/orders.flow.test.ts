import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, newUser, waitFor, wsClient } from './support/gql.js';
import { assertLedgerInvariants, createFundedPortfolio, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { Decimal } from '../src/lib/decimal.js';
import { rowsOf } from '../src/db/batch-sql.js';
import { DEFAULT_FEES, feeBound } from '../src/brokers/paper/fees.js';

describe.each(modes())('orders from mutation to fills pushed live (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    await waitForQuote(server, 'RELIANCE');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('fills a market buy through the job loop, pushes fill and order events, and settles cash to the cent', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '1000000' });
    const ws = wsClient(server, u.token);
    const fills = collect<{ fillReceived: { sequence: number; fill: { quantity: string; price: string; fee: string; brokerFillId: string | null }; order: { id: string; status: string } } }>(
      ws,
      `subscription($p:ID){ fillReceived(portfolioId:$p, afterSequence:0){ sequence fill { quantity price fee brokerFillId } order { id status } } }`,
      { p: pid },
    );
    const updates = collect<{ orderUpdated: { sequence: number; order: { id: string; status: string } } }>(
      ws,
      `subscription($p:ID){ orderUpdated(portfolioId:$p, afterSequence:0){ sequence order { id status } } }`,
      { p: pid },
    );
    // afterSequence 0: whenever the subscriptions go live, they first replay from the start (no race).

    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'RELIANCE', side: 'BUY', type: 'MARKET', quantity: '10' });
    expect(order.status).toBe('PENDING');
    const done = await waitForStatus(server, u.token, order.id, ['FILLED']);
    expect(done.filledQuantity).toBe('10.00');
    expect(done.brokerOrderId).toBeTruthy();

    await waitFor('fill events', () => fills.items.reduce((n, f) => n.add(f.fillReceived.fill.quantity), new Decimal(0)).eq(10));
    await waitFor('FILLED order event', () => updates.items.some((u) => u.orderUpdated.order.status === 'FILLED'));
    const seqs = updates.items.map((u) => u.orderUpdated.sequence);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(updates.items.map((u) => u.orderUpdated.order.status)).toContain('PENDING');

    // Each fill carries the broker's execution id: the one stored with it, on the query and on the event alike.
    const storedIds = rowsOf<{ id: string }>(
      await server.app.db.db.execute(sql`select broker_fill_id as id from fills where order_id = ${order.id}::uuid order by executed_at, id`),
    ).map((r) => r.id);
    expect(storedIds.length).toBeGreaterThan(0);
    const read = await must<{ order: { fills: { brokerFillId: string | null }[] } }>(server, `query($id:ID!){ order(id:$id){ fills { brokerFillId } } }`, { id: order.id }, u.token);
    expect(read.order.fills.map((f) => f.brokerFillId)).toEqual(storedIds);
    expect(fills.items.map((f) => f.fillReceived.fill.brokerFillId).sort()).toEqual([...storedIds].sort());

    const cost = done.fills.reduce((acc: Decimal, f: { quantity: string; price: string; fee: string }) => acc.add(new Decimal(f.quantity).mul(f.price)).add(f.fee), new Decimal(0));
    const state = await portfolioState(server, u.token, pid);
    expect(new Decimal(state.cash).eq(new Decimal('1000000').sub(cost))).toBe(true);
    expect(state.availableCash).toBe(state.cash); // the hold is fully released
    expect(state.positions).toHaveLength(1);
    expect(state.positions[0]).toMatchObject({ quantity: '10.00', instrument: { symbol: 'RELIANCE' } });
    await assertLedgerInvariants(server.app.db.db, pid);
    fills.dispose();
    updates.dispose();
    await ws.dispose();
  });

  it('sells part of a position and books realised P&L', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token);
    const buy = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'TCS', side: 'BUY', type: 'MARKET', quantity: '5' });
    await waitForStatus(server, u.token, buy.id, ['FILLED']);
    const sell = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'TCS', side: 'SELL', type: 'MARKET', quantity: '2' });
    const sold = await waitForStatus(server, u.token, sell.id, ['FILLED']);
    const state = await portfolioState(server, u.token, pid);
    const pos = state.positions.find((p) => p.instrument.symbol === 'TCS')!;
    expect(pos.quantity).toBe('3.00');
    const expected = new Decimal(sold.averageFillPrice).sub(pos.averageCost).mul(2);
    expect(new Decimal(pos.realizedPnl).eq(expected)).toBe(true);
    await assertLedgerInvariants(server.app.db.db, pid);
  });

  it('rests a limit order, fills it when the market crosses, and refuses to cancel it afterwards', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token);
    const q = await waitForQuote(server, 'INFY');
    const limit = new Decimal(q.last).mul('0.9').toDecimalPlaces(0).toFixed(2);
    const o = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'INFY', side: 'BUY', type: 'LIMIT', quantity: '3', limitPrice: limit, timeInForce: 'GTC' });
    await waitForStatus(server, u.token, o.id, ['OPEN']);
    const before = await portfolioState(server, u.token, pid);
    // Held at the limit, plus the most the broker's fees could be.
    const notional = new Decimal(limit).mul(3);
    expect(new Decimal(before.cash).sub(before.availableCash).eq(notional.add(feeBound(DEFAULT_FEES, 'INR', notional)))).toBe(true);
    server.app.market()!.feed.setPrice('INFY', 'NSE', new Decimal(limit).sub(5).toFixed(2));
    const filled = await waitForStatus(server, u.token, o.id, ['FILLED']);
    expect(new Decimal(filled.averageFillPrice).lte(limit)).toBe(true);
    const again = await gql(server, `mutation($id:ID!){ cancelOrder(id:$id){ id } }`, { id: o.id }, u.token);
    expect(errorCode(again)).toBe('INVALID_ORDER_STATE');
    await assertLedgerInvariants(server.app.db.db, pid);
  });

  it('cancels an open order at the broker and releases its hold', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token);
    const q = await waitForQuote(server, 'HDFCBANK');
    const limit = new Decimal(q.last).mul('0.5').toDecimalPlaces(0).toFixed(2);
    const o = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'HDFCBANK', side: 'BUY', type: 'LIMIT', quantity: '10', limitPrice: limit });
    await waitForStatus(server, u.token, o.id, ['OPEN']);
    const c = await must<{ cancelOrder: { status: string } }>(server, `mutation($id:ID!){ cancelOrder(id:$id){ status } }`, { id: o.id }, u.token);
    expect(['CANCEL_REQUESTED', 'CANCELED']).toContain(c.cancelOrder.status);
    await waitForStatus(server, u.token, o.id, ['CANCELED']);
    const state = await portfolioState(server, u.token, pid);
    expect(state.availableCash).toBe(state.cash);
    expect(errorCode(await gql(server, `mutation($id:ID!){ cancelOrder(id:$id){ id } }`, { id: o.id }, u.token))).toBe('INVALID_ORDER_STATE');
    await assertLedgerInvariants(server.app.db.db, pid);
  });

  it('shows availableCash rounded down to the paisa under a sub-paisa hold (a resting STOP buy), and that figure can be withdrawn', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '100000' });
    const q = await waitForQuote(server, 'ITC');
    // A stop far above the market (it rests), on the 0.05 grid, whose hold (stop × 1.05) has paise fractions.
    let stop = new Decimal(q.last).mul(2).div('0.05').toDecimalPlaces(0).mul('0.05');
    while (stop.mul('1.05').decimalPlaces() <= 2) stop = stop.add('0.05');
    const o = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'ITC', side: 'BUY', type: 'STOP', quantity: '1', stopPrice: stop.toFixed(2) });
    const rows = await server.app.db.db.execute(sql`select amount::text as amount from holds where order_id = ${o.id} and released_at is null`);
    const hold = new Decimal(((Array.isArray(rows) ? rows : (rows as unknown as { rows: { amount: string }[] }).rows) as { amount: string }[])[0].amount);
    expect(hold.decimalPlaces()).toBeGreaterThan(2);
    const raw = new Decimal('100000').sub(hold);
    const shown = raw.toDecimalPlaces(2, Decimal.ROUND_FLOOR);
    const state = await portfolioState(server, u.token, pid);
    expect(state.cash).toBe('100000.00');
    expect(state.availableCash).toBe(shown.toFixed(2));
    // One paisa more than shown is refused, naming the same figure; exactly what is shown is withdrawn.
    const over = await gql(server, `mutation($p:ID!,$a:Decimal!){ withdraw(portfolioId:$p, amount:$a){ cash } }`, { p: pid, a: shown.add('0.01').toFixed(2) }, u.token);
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: 'INSUFFICIENT_FUNDS', available: shown.toFixed(2) });
    const w = await must<{ withdraw: { cash: string; availableCash: string } }>(server, `mutation($p:ID!,$a:Decimal!){ withdraw(portfolioId:$p, amount:$a){ cash availableCash } }`, { p: pid, a: state.availableCash }, u.token);
    expect(w.withdraw.availableCash).toBe('0.00');
    // A buy needing more than is left reports the available cash to the paisa, rounded down.
    const buy = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { portfolioId: pid, symbol: 'ITC', side: 'BUY', type: 'MARKET', quantity: '1' } }, u.token);
    expect(buy.errors?.[0]?.extensions).toMatchObject({ code: 'INSUFFICIENT_FUNDS', available: '0.00' });
    await must(server, `mutation($id:ID!){ cancelOrder(id:$id){ id } }`, { id: o.id }, u.token);
    await assertLedgerInvariants(server.app.db.db, pid);
  });

  it('returns the first order for a repeated clientOrderId and refuses the same key with other parameters', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token);
    const input = { portfolioId: pid, symbol: 'ITC', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '100.00', clientOrderId: 'bot-1' };
    const [a, b] = await Promise.all([placeOrder(server, u.token, input), placeOrder(server, u.token, input)]);
    expect(a.id).toBe(b.id);
    const conflict = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { ...input, quantity: '2' } }, u.token);
    expect(errorCode(conflict)).toBe('IDEMPOTENCY_CONFLICT');
    const count = await server.app.db.db.execute(sql`select count(*)::int as n from orders where portfolio_id = ${pid}`);
    const n = Array.isArray(count) ? count[0].n : (count as unknown as { rows: { n: number }[] }).rows[0].n;
    expect(n).toBe(1);
  });

  describe('bad input is refused cleanly, leaving no order, hold or job', () => {
    let u: Awaited<ReturnType<typeof newUser>>;
    let pid: string;
    beforeAll(async () => {
      u = await newUser(server);
      pid = await createFundedPortfolio(server, u.token, { amount: '10000' });
    });

    const base = { symbol: 'RELIANCE', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '1000.00' };
    const cases: [string, Record<string, unknown>, string, string?][] = [
      ['negative quantity', { quantity: '-1' }, 'BAD_USER_INPUT', 'quantity'],
      ['zero quantity', { quantity: '0' }, 'BAD_USER_INPUT', 'quantity'],
      ['non-numeric quantity', { quantity: 'ten' }, 'BAD_USER_INPUT'],
      ['float quantity', { quantity: 1.5 }, 'BAD_USER_INPUT'],
      ['absurdly large quantity', { quantity: '99999999999999' }, 'BAD_USER_INPUT', 'quantity'],
      ['over-precise quantity', { quantity: '1.000000001' }, 'BAD_USER_INPUT'],
      ['negative price', { limitPrice: '-1000.00' }, 'BAD_USER_INPUT', 'limitPrice'],
      ['limit order without a limit price', { limitPrice: null }, 'BAD_USER_INPUT', 'limitPrice'],
      ['price off the tick grid', { limitPrice: '1000.03' }, 'BAD_USER_INPUT', 'limitPrice'],
      ['unknown symbol', { symbol: 'NOPE' }, 'BAD_USER_INPUT', 'symbol'],
      ['wrong currency for the portfolio', { symbol: 'AAPL', limitPrice: '100.00' }, 'BAD_USER_INPUT', 'symbol'],
      ['sell of more than is held', { side: 'SELL' }, 'INSUFFICIENT_QUANTITY'],
      ['buy beyond available cash', { quantity: '100' }, 'INSUFFICIENT_FUNDS'],
    ];
    it.each(cases)('%s', async (_name, patch, code, field) => {
      const before = await portfolioState(server, u.token, pid);
      // The jobs this request adds (other jobs, e.g. notifications of earlier tests' fills, may come and go).
      const add = vi.spyOn(server.app.queue, 'add');
      const addBulk = vi.spyOn(server.app.queue, 'addBulk');
      const r = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { portfolioId: pid, ...base, ...patch } }, u.token);
      const added = [...add.mock.calls.map((c) => String(c[0])), ...addBulk.mock.calls.flatMap((c) => c[0].map((j) => String(j.name)))];
      add.mockRestore();
      addBulk.mockRestore();
      expect(errorCode(r)).toBe(code);
      if (field) expect(r.errors?.[0].extensions?.field).toBe(field);
      expect(r.data?.placeOrder ?? null).toBeNull();
      const after = await portfolioState(server, u.token, pid);
      expect(after).toEqual(before);
      const rows = await server.app.db.db.execute(sql`select (select count(*) from orders where portfolio_id = ${pid})::int as o, (select count(*) from holds where portfolio_id = ${pid})::int as h`);
      const r0 = Array.isArray(rows) ? rows[0] : (rows as unknown as { rows: Record<string, number>[] }).rows[0];
      expect(r0).toEqual({ o: 0, h: 0 });
      expect(added.filter((name) => name.startsWith('submit-order')), 'no submit job').toEqual([]);
    });

    it("reports another user's portfolio as NOT_FOUND", async () => {
      const other = await newUser(server);
      const r = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { portfolioId: pid, ...base } }, other.token);
      expect(errorCode(r)).toBe('NOT_FOUND');
      expect(errorCode(await gql(server, `query($id:ID!){ portfolio(id:$id){ id } }`, { id: pid }, other.token))).toBe('NOT_FOUND');
    });

    it('refuses withdrawals beyond available cash and bad amounts', async () => {
      const over = await gql(server, `mutation($p:ID!,$a:Decimal!){ withdraw(portfolioId:$p, amount:$a){ cash } }`, { p: pid, a: '10000.01' }, u.token);
      expect(errorCode(over)).toBe('INSUFFICIENT_FUNDS');
      const precise = await gql(server, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ cash } }`, { p: pid, a: '1.001' }, u.token);
      expect(errorCode(precise)).toBe('BAD_USER_INPUT');
      const ok = await must<{ withdraw: { cash: string } }>(server, `mutation($p:ID!,$a:Decimal!){ withdraw(portfolioId:$p, amount:$a){ cash availableCash } }`, { p: pid, a: '0.01' }, u.token);
      expect(ok.withdraw.cash).toBe('9999.99');
    });
  });
});
