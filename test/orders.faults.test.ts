import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { newUser } from './support/gql.js';
import { assertLedgerInvariants, createFundedPortfolio, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import type { PaperBroker } from '../src/brokers/paper/index.js';

/** Rows of the paper exchange's own book for one of our orders (its client order id is our order id). */
async function timesAtBroker(server: TestServer, orderId: string): Promise<number> {
  const r = await server.app.db.db.execute(sql`select count(*)::int as n from paper_orders where client_order_id = ${orderId}`);
  const rows = Array.isArray(r) ? r : (r as unknown as { rows: { n: number }[] }).rows;
  return rows[0].n;
}

describe.each(modes())('the order loop under broker faults (%s)', (mode) => {
  let server: TestServer;
  let paper: PaperBroker;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    paper = server.app.brokers.get('paper') as PaperBroker;
    await waitForQuote(server, 'WIPRO');
  });
  afterAll(async () => {
    await server?.close();
  });

  const buy = (pid: string) => ({ portfolioId: pid, symbol: 'WIPRO', side: 'BUY', type: 'MARKET', quantity: '5' });

  it('retries a transient failure with backoff and places the order once', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token);
    paper.injectFault({ op: 'placeOrder', kind: 'transient', times: 2 });
    const o = await placeOrder(server, u.token, buy(pid));
    await waitForStatus(server, u.token, o.id, ['FILLED']);
    expect(await timesAtBroker(server, o.id)).toBe(1);
    await assertLedgerInvariants(server.app.db.db, pid);
  });

  it('adopts an order whose acknowledgement was lost instead of sending it twice', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token);
    // A resting limit: nothing fills, so only the adoption by client order id can make it OPEN.
    paper.injectFault({ op: 'placeOrder', kind: 'lost-response', times: 1 });
    const o = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'WIPRO', side: 'BUY', type: 'LIMIT', quantity: '5', limitPrice: '1.00' });
    const done = await waitForStatus(server, u.token, o.id, ['OPEN']);
    expect(done.brokerOrderId).toBeTruthy();
    expect(await timesAtBroker(server, o.id)).toBe(1);
    const metrics = await server.app.metrics.registry.getSingleMetricAsString('orders_total');
    expect(metrics).toMatch(/orders_total\{[^}]*event="adopted"[^}]*\} [1-9]/);

    // A market order whose acknowledgement is lost fills at the broker; its fill completes it, once.
    paper.injectFault({ op: 'placeOrder', kind: 'lost-response', times: 1 });
    const m = await placeOrder(server, u.token, buy(pid));
    await waitForStatus(server, u.token, m.id, ['FILLED']);
    expect(await timesAtBroker(server, m.id)).toBe(1);
    await assertLedgerInvariants(server.app.db.db, pid);
  });

  it('does not retry a rejection: REJECTED with its reason, hold released', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token);
    paper.injectFault({ op: 'placeOrder', kind: 'reject', times: 1 });
    const o = await placeOrder(server, u.token, buy(pid));
    const done = await waitForStatus(server, u.token, o.id, ['REJECTED']);
    expect(done.rejectReason).toBeTruthy();
    expect(await timesAtBroker(server, o.id)).toBe(0);
    const state = await portfolioState(server, u.token, pid);
    expect(state.availableCash).toBe(state.cash);
    await assertLedgerInvariants(server.app.db.db, pid);
  });

  it('gives up as FAILED only after the broker confirms it never saw the order', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token);
    paper.injectFault({ op: 'placeOrder', kind: 'transient', times: 6 });
    const o = await placeOrder(server, u.token, buy(pid));
    const done = await waitForStatus(server, u.token, o.id, ['FAILED'], 30_000);
    expect(done.rejectReason).toMatch(/not placed/);
    expect(await timesAtBroker(server, o.id)).toBe(0);
    const state = await portfolioState(server, u.token, pid);
    expect(state.availableCash).toBe(state.cash);
    paper.clearFaults();
    await assertLedgerInvariants(server.app.db.db, pid);
  });
});
