/**
 * A basket run's phase is submitted by ONE `basket-phase` job, not a `submit-order` job per order: the
 * orders move to SUBMITTING, reach the paper exchange and are acknowledged with their fills together,
 * and each still emits its own events once (SUBMITTING, OPEN unless a fill beat the acknowledgement,
 * FILLED, one FILL_RECEIVED per fill), on
 * gap-free sequences. The crash behaviour of that job is covered by test/scaled/basket-crash.test.ts.
 */
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { must, newUser } from './support/gql.js';
import { assertLedgerInvariants, createFundedPortfolio, waitForQuote } from './support/trading.js';
import { assertRunsMatchFills, createSmallcase, invest, orderEventCountsSql, waitForRun, type OrderEventCounts } from './support/baskets.js';

const SIX = [
  { symbol: 'RELIANCE', weight: '0.25' },
  { symbol: 'HDFCBANK', weight: '0.2' },
  { symbol: 'ITC', weight: '0.15' },
  { symbol: 'WIPRO', weight: '0.15' },
  { symbol: 'TATASTEEL', weight: '0.1' },
  { symbol: 'INFY', weight: '0.15' },
];

/** Jobs processed so far, by name (all outcomes), from the Prometheus text of /metrics. */
async function jobCounts(server: TestServer): Promise<Map<string, number>> {
  const res = await request(server.url).get('/metrics');
  expect(res.status).toBe(200);
  const counts = new Map<string, number>();
  for (const m of res.text.matchAll(/^jobs_processed_total\{([^}]*)\}\s+(\S+)$/gm)) {
    const name = /name="([^"]*)"/.exec(m[1])?.[1] ?? '';
    counts.set(name, (counts.get(name) ?? 0) + Number(m[2]));
  }
  return counts;
}

function delta(before: Map<string, number>, after: Map<string, number>, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

async function rows<T>(server: TestServer, q: ReturnType<typeof sql>): Promise<T[]> {
  const r = (await server.app.db.db.execute(q)) as unknown as { rows?: T[] } | T[];
  return Array.isArray(r) ? r : (r.rows ?? []);
}

describe.each(modes())('a basket run phase submitted by one job (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    for (const c of SIX) await waitForQuote(server, c.symbol);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('invests and rebalances with one basket-phase job per phase and no submit-order job, each order emitting its events once on gap-free sequences', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '1000000' });
    const sc = await createSmallcase(server, u.token, SIX);

    const j0 = await jobCounts(server);
    const inv = await invest(server, u.token, sc.id, pid, '300000');
    expect((await waitForRun(server, u.token, inv.runs[0].id)).status).toBe('COMPLETED');
    const j1 = await jobCounts(server);
    expect(delta(j0, j1, 'basket-phase'), 'one job for the buy phase').toBe(1);
    expect(delta(j0, j1, 'submit-order'), 'no job per order').toBe(0);
    expect(delta(j0, j1, 'submit-orders'), 'no placement-batch job either').toBe(0);

    // A new version: the rebalance sells first, then buys on what the sells raised: two phases, two jobs.
    await must(
      server,
      `mutation($id:ID!,$i:UpdateSmallcaseInput!){ updateSmallcase(id:$id, input:$i){ version } }`,
      { id: sc.id, i: { rationale: 'out of steel, into IT', constituents: SIX.filter((c) => c.symbol !== 'TATASTEEL').map((c) => (c.symbol === 'INFY' ? { ...c, weight: '0.25' } : c)) } },
      u.token,
    );
    const reb = await must<{ rebalanceSmallcase: { id: string } }>(server, `mutation($i:ID!){ rebalanceSmallcase(investmentId:$i){ id } }`, { i: inv.id }, u.token);
    const done = await waitForRun(server, u.token, reb.rebalanceSmallcase.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.orders.map((o: { side: string }) => o.side).sort()).toEqual(['BUY', 'SELL']);
    const j2 = await jobCounts(server);
    expect(delta(j1, j2, 'basket-phase'), 'one job for the sell phase, one for the buy phase').toBe(2);
    expect(delta(j1, j2, 'submit-order')).toBe(0);
    expect(delta(j1, j2, 'submit-orders')).toBe(0);

    // Each order's events, once each; the portfolio's sequence gap-free.
    const events = await rows<OrderEventCounts>(server, orderEventCountsSql(pid));
    expect(events.length).toBe(SIX.length + 2);
    // OPEN at most once: a fill the exchange reports before the acknowledgement commits moves it past OPEN.
    for (const e of events) expect({ ...e, open: Math.min(e.open, 1) }, 'events of one order').toMatchObject({ submitting: 1, filled: 1, fillEvents: e.fills });
    for (const e of events) expect(e.open, 'OPEN never twice').toBeLessThanOrEqual(1);
    const [seq] = await rows<{ n: number; distinct: number; lo: number; hi: number; counter: number }>(
      server,
      sql`select count(*)::int as n, count(distinct sequence)::int as distinct, min(sequence)::int as lo, max(sequence)::int as hi,
                 (select event_sequence::int from portfolios where id = ${pid}) as counter
          from outbox_events where portfolio_id = ${pid}`,
    );
    expect(seq).toEqual({ n: seq.hi, distinct: seq.hi, lo: 1, hi: seq.counter, counter: seq.counter });
    await assertLedgerInvariants(server.app.db.db, pid);
    expect(await assertRunsMatchFills(server.app.db.db, pid)).toEqual([]);
  }, 120_000);
});
