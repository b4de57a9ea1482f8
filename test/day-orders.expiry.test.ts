/**
 * DAY orders end at their exchange's close: the scheduled `expire-day-orders` job (DayOrderExpiry) tells
 * the paper exchange the session closed, and the order loop brings the expiry in (EXPIRED, hold released,
 * events). Runs against the real server in both modes, with the job's clock pinned past the close.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, newUser, waitFor, wsClient } from './support/gql.js';
import { assertLedgerInvariants, createFundedPortfolio, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { ManualClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { ExchangeCalendar } from '../src/market/calendar.js';
import { DayOrderExpiry } from '../src/services/orders/day-expiry.service.js';
import { sqlRows } from './support/ledger-harness.js';

const calendar = new ExchangeCalendar();

describe.each(modes())('DAY orders expire at the close of their exchange (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    await waitForQuote(server, 'RELIANCE');
  });
  afterAll(async () => {
    await server?.close();
  });

  /** The expiry job as the worker runs it, with its clock pinned at `at`. */
  const expiryAt = (at: Date) =>
    new DayOrderExpiry({ db: server.app.db.db, clock: new ManualClock(at), logger: silentLogger, calendar, brokers: server.app.brokers, queue: server.app.queue, execution: server.app.execution });

  it('expires a resting DAY order at the close (hold released, events), leaves a GTC one, and does it once however many run', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '100000' });
    const ws = wsClient(server, u.token);
    const updates = collect<{ orderUpdated: { order: { id: string; status: string; rejectReason: string | null } } }>(
      ws,
      `subscription($p:ID){ orderUpdated(portfolioId:$p, afterSequence:0){ order { id status rejectReason } } }`,
      { p: pid },
    );
    // Limit buys far below the market rest on the book.
    const day = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'RELIANCE', side: 'BUY', type: 'LIMIT', quantity: '5', limitPrice: '100.00' });
    const gtc = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'RELIANCE', side: 'BUY', type: 'LIMIT', quantity: '5', limitPrice: '100.00', timeInForce: 'GTC' });
    await waitForStatus(server, u.token, day.id, ['OPEN']);
    await waitForStatus(server, u.token, gtc.id, ['OPEN']);
    expect((await portfolioState(server, u.token, pid)).availableCash).not.toBe('100000.00');

    // Before the close of the order's session nothing happens; one second after it, the order expires.
    const close = calendar.currentOrNextSession('NSE', new Date())!.close;
    expect(await expiryAt(new Date(close.getTime() - 1000)).run()).toMatchObject({ expiredAtBroker: 0, expiredPending: 0 });
    const after = new Date(close.getTime() + 1000);
    // Two workers' runs at once: the guarded updates let exactly one expire it.
    const runs = await Promise.all([expiryAt(after).run(), expiryAt(after).run()]);
    expect(runs.reduce((n, r) => n + r.expiredAtBroker, 0)).toBeGreaterThanOrEqual(1);
    await waitForStatus(server, u.token, day.id, ['EXPIRED']);
    await waitFor('the EXPIRED order event (' + JSON.stringify(updates.errors) + ')', () => updates.items.some((x) => x.orderUpdated.order.id === day.id && x.orderUpdated.order.status === 'EXPIRED'));

    const [{ n }] = await sqlRows<{ n: number }>(
      server.app.db.db,
      sql`select count(*)::int as n from outbox_events where portfolio_id = ${pid} and type = 'ORDER_UPDATED' and payload->'order'->>'id' = ${day.id} and payload->'order'->>'status' = 'EXPIRED'`,
    );
    expect(n, 'one EXPIRED event for the order').toBe(1);
    const [gtcNow] = await sqlRows<{ status: string }>(server.app.db.db, sql`select status from orders where id = ${gtc.id}`);
    expect(gtcNow.status).toBe('OPEN');
    // Only the GTC order still holds cash: 5 × 100 plus its fee bound.
    const state = await portfolioState(server, u.token, pid);
    const [{ held }] = await sqlRows<{ held: string }>(server.app.db.db, sql`select coalesce(sum(amount),0)::text as held from holds where order_id = ${day.id} and released_at is null`);
    expect(held).toBe('0');
    expect(state.availableCash).toBe('99499.85');
    await assertLedgerInvariants(server.app.db.db, pid);
    updates.dispose();
    await ws.dispose();
  });
});
