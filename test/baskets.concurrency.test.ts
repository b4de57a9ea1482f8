import { eq, sql } from 'drizzle-orm';
import { basketRunOrders, basketRuns } from '../src/db/schema/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { errorCode, gql, newUser } from './support/gql.js';
import { assertLedgerInvariants, createFundedPortfolio, placeOrder, waitForQuote, waitForStatus } from './support/trading.js';
import { assertRunsMatchFills, createSmallcase, waitForRun } from './support/baskets.js';
import { Decimal } from '../src/lib/decimal.js';

const FIVE = [
  { symbol: 'RELIANCE', weight: '0.3' },
  { symbol: 'HDFCBANK', weight: '0.25' },
  { symbol: 'ITC', weight: '0.2' },
  { symbol: 'WIPRO', weight: '0.15' },
  { symbol: 'TATASTEEL', weight: '0.1' },
];

async function rows(server: TestServer, q: ReturnType<typeof sql>) {
  const r = (await server.app.db.db.execute(q)) as unknown as { rows?: Record<string, unknown>[] } | Record<string, unknown>[];
  return (Array.isArray(r) ? r : (r.rows ?? [])) as Record<string, any>[];
}

/**
 * A basket run writes its orders and holds first and takes the portfolio's lock late, with the risk reads
 * (see RunPlacer.placeThenLockInTx): these tests fire investments on one portfolio at once and check that
 * the late lock still serialises the money (no overdraft, the refused ones write nothing) and the events.
 */
describe.each(modes())('basket runs placed at once on one portfolio (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    // The worker's own sweep only every hour: the sweep test below calls it itself (runs still complete on nudges).
    server = await startTestServer({ mode, env: { BASKET_SWEEP_MS: '3600000' } });
    for (const c of FIVE) await waitForQuote(server, c.symbol);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('six investments at once on cash for two and a half: exactly two are placed, four are INSUFFICIENT_FUNDS and write nothing, holds never exceed the cash', async () => {
    const u = await newUser(server);
    // Each investment of 100000 holds close to 100000 (buffered price + fee bound) and costs about 95% of
    // that once filled, so a third never fits, before or after the first two fill.
    const pid = await createFundedPortfolio(server, u.token, { amount: '250000' });
    const sc = await createSmallcase(server, u.token, FIVE);
    const q = `mutation($s:ID!,$p:ID!,$a:Decimal!,$c:String){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:$a, clientRequestId:$c){ id runs { id } } }`;
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => gql(server, q, { s: sc.id, p: pid, a: '100000', c: `at-once-${i}` }, u.token)));
    const placed = results.filter((r) => !r.errors).map((r) => (r.data as { investInSmallcase: { id: string; runs: { id: string }[] } }).investInSmallcase);
    const refused = results.filter((r) => r.errors);
    expect(placed).toHaveLength(2);
    expect(refused.map((r) => errorCode(r))).toEqual(['INSUFFICIENT_FUNDS', 'INSUFFICIENT_FUNDS', 'INSUFFICIENT_FUNDS', 'INSUFFICIENT_FUNDS']);

    // Nothing of the refused ones was written: two runs, two investments, ten orders, each with its hold.
    const [counts] = await rows(
      server,
      sql`select (select count(*)::int from basket_runs where portfolio_id = ${pid}) as runs,
                 (select count(*)::int from smallcase_investments where portfolio_id = ${pid}) as investments,
                 (select count(*)::int from orders where portfolio_id = ${pid}) as orders,
                 (select count(*)::int from holds where portfolio_id = ${pid}) as holds,
                 (select coalesce(sum(amount), 0)::text from holds where portfolio_id = ${pid} and kind = 'CASH' and released_at is null) as held,
                 (select cash::text from portfolios where id = ${pid}) as cash`,
    );
    expect(counts).toMatchObject({ runs: 2, investments: 2, orders: 10, holds: 10 });
    // Open holds (those not yet released by fills) within the cash, and the cash never below zero.
    expect(new Decimal(counts.held).lte(new Decimal(counts.cash)), `holds ${counts.held} within the cash ${counts.cash}`).toBe(true);

    for (const inv of placed) expect((await waitForRun(server, u.token, inv.runs[0].id)).status).toBe('COMPLETED');
    const [after] = await rows(server, sql`select cash::text from portfolios where id = ${pid}`);
    // Two investments of 100000 filled (about 95000 each at the buffered reservation): the rest of 250000 is left.
    expect(new Decimal(after.cash).gt(40000), `cash left ${after.cash}`).toBe(true);
    expect(await assertRunsMatchFills(server.app.db.db, pid)).toEqual([]);
    await assertLedgerInvariants(server.app.db.db, pid);
    // The portfolio's events: numbered 1..n without a gap or a repeat, and its sequence counter at n.
    const [seq] = await rows(
      server,
      sql`select count(*)::int as n, count(distinct sequence)::int as distinct_n, min(sequence)::int as lo, max(sequence)::int as hi,
                 (select event_sequence::int from portfolios where id = ${pid}) as counter
          from outbox_events where portfolio_id = ${pid}`,
    );
    expect(seq.lo).toBe(1);
    expect(seq).toMatchObject({ distinct_n: seq.n, hi: seq.n, counter: seq.n });
    // Each placed order's events once: PENDING at placement, SUBMITTING, OPEN, FILLED.
    const perOrder = await rows(
      server,
      sql`select e.payload->'order'->>'id' as id, count(*)::int as n from outbox_events e
          where e.portfolio_id = ${pid} and e.type = 'ORDER_UPDATED' and e.payload->'order'->>'status' = 'PENDING' group by 1`,
    );
    expect(perOrder).toHaveLength(10);
    expect(perOrder.every((r) => r.n === 1)).toBe(true);
  });
  it('the sweep moves on only a run whose orders have all ended, and passes over one whose row another transaction holds', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '100000' });
    // An order that stays OPEN: a limit buy far below the market.
    const open = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'ITC', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '1.00' });
    await waitForStatus(server, u.token, open.id, ['OPEN']);
    const db = server.app.db.db;
    const run = (id: string) => ({
      id,
      userId: u.id,
      portfolioId: pid,
      kind: 'TARGET' as const,
      status: 'BUYING' as const,
      clientRequestId: id,
      requestHash: 'h',
      plan: { extraCash: '0', useAvailableCash: false, buyWants: [], minTicket: '0', refused: [] },
    });
    // As if their last nudge was lost: `ended` has no order left in flight, `waiting` has its open order.
    const [ended, waiting] = [crypto.randomUUID(), crypto.randomUUID()];
    await db.insert(basketRuns).values([run(ended), run(waiting)]);
    await db.insert(basketRunOrders).values({ runId: waiting, orderId: open.id, phase: 'BUY' });
    const status = async (id: string) => (await db.select({ s: basketRuns.status }).from(basketRuns).where(eq(basketRuns.id, id)))[0].s;
    const runs = server.app.services.baskets.runs;

    if (mode === 'scaled') {
      // Another transaction holds the ended run's row: the sweep does not wait for it, and leaves it.
      await db.transaction(async (tx) => {
        await tx.select({ id: basketRuns.id }).from(basketRuns).where(eq(basketRuns.id, ended)).for('update');
        const started = performance.now();
        expect(await runs.sweep()).toBe(0);
        expect(performance.now() - started).toBeLessThan(5_000);
      });
      expect(await status(ended)).toBe('BUYING');
    }
    // (Embedded: one connection, so no other transaction can hold a row meanwhile.)
    expect(await runs.sweep()).toBe(1);
    expect(await status(ended)).toBe('COMPLETED');
    expect(await status(waiting)).toBe('BUYING');
  });
});
