/**
 * investmentPerformance: a smallcase investment filled by the paper broker, its fills and the
 * smallcase's version moved back in time, daily candles with known closes; the investment's value
 * series and its index are written out here and compared. Also the close-of-day valuation job and
 * today's live value from quotes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { errorCode, gql, must, newUser } from './support/gql.js';
import { createFundedPortfolio, waitForQuote } from './support/trading.js';
import { createSmallcase, invest, waitForRun } from './support/baskets.js';
import { basketRunOrders, basketRuns, candles, fills, instruments, orders, portfolioValuations, smallcaseConstituents, smallcaseVersions } from '../src/db/schema/index.js';

const DAY = 86_400_000;
function mondayWeeksAgo(weeks: number): Date {
  const t = new Date();
  const d = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()) - weeks * 7 * DAY;
  return new Date(d - ((new Date(d).getUTCDay() + 6) % 7) * DAY);
}
const D0 = mondayWeeksAgo(4);
const days = [0, 1, 2, 3, 4, 7, 8, 9, 10, 11].map((n) => new Date(D0.getTime() + n * DAY));
const relCloses = [1500, 1530, 1510, 1490, 1540, 1560, 1555, 1580, 1570, 1600];
const tcsCloses = [3200, 3180, 3220, 3250, 3230, 3210, 3260, 3300, 3290, 3320];
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

const PERF = `query($i:ID!,$f:DateTime,$t:DateTime,$r:PerformanceRange){ investmentPerformance(investmentId:$i, from:$f, to:$t, range:$r){
  startValue endValue netFlows profit benchmarkReturn series { time value netFlow } metrics { twr beta alpha maxDrawdown xirr } } }`;

describe.each(modes())('analytics: smallcase investment against its index, the daily job, live values (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    await waitForQuote(server, 'RELIANCE');
    await waitForQuote(server, 'TCS');
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('follows the investment and the smallcase index day by day', async () => {
    const db = server.app.db.db;
    const u = await newUser(server, 'inv');
    const pid = await createFundedPortfolio(server, u.token, { amount: '500000' });
    const sc = await createSmallcase(server, u.token, [
      { symbol: 'RELIANCE', weight: '0.6' },
      { symbol: 'TCS', weight: '0.4' },
    ]);
    const inv = await invest(server, u.token, sc.id, pid, '100000');
    const run = inv.runs[0];
    await waitForRun(server, u.token, run.id, ['COMPLETED']);

    // Move the history to D0 and give the index known base prices.
    const ids = await db.select({ id: instruments.id, symbol: instruments.symbol }).from(instruments).where(and(eq(instruments.exchange, 'NSE'), inArray(instruments.symbol, ['RELIANCE', 'TCS'])));
    const idOf = (s: string) => ids.find((x) => x.symbol === s)!.id;
    const invOrders = db.select({ id: basketRunOrders.orderId }).from(basketRunOrders).innerJoin(basketRuns, eq(basketRuns.id, basketRunOrders.runId)).where(eq(basketRuns.investmentId, inv.id));
    await db.update(fills).set({ executedAt: new Date(D0.getTime() + 10 * 3600_000) }).where(inArray(fills.orderId, invOrders));
    await db.update(smallcaseVersions).set({ createdAt: D0 }).where(eq(smallcaseVersions.smallcaseId, sc.id));
    await db.update(smallcaseConstituents).set({ basePrice: '1500' }).where(and(eq(smallcaseConstituents.smallcaseId, sc.id), eq(smallcaseConstituents.instrumentId, idOf('RELIANCE'))));
    await db.update(smallcaseConstituents).set({ basePrice: '3200' }).where(and(eq(smallcaseConstituents.smallcaseId, sc.id), eq(smallcaseConstituents.instrumentId, idOf('TCS'))));
    const bar = (instrumentId: string, i: number, close: number) => ({ instrumentId, interval: '1d', startsAt: days[i]!, open: String(close), high: String(close), low: String(close), close: String(close), volume: '1' });
    await db.insert(candles).values([...relCloses.map((c, i) => bar(idOf('RELIANCE'), i, c)), ...tcsCloses.map((c, i) => bar(idOf('TCS'), i, c))]);

    // What the investment bought, read from its fills.
    const f = await db
      .select({ instrumentId: orders.instrumentId, q: fills.quantity, p: fills.price, fee: fills.fee })
      .from(fills)
      .innerJoin(orders, eq(orders.id, fills.orderId))
      .where(inArray(fills.orderId, invOrders));
    const qty = (id: string) => f.filter((x) => x.instrumentId === id).reduce((s, x) => s + Number(x.q), 0);
    const cost = f.reduce((s, x) => s + Number(x.q) * Number(x.p) + Number(x.fee), 0);
    const qR = qty(idOf('RELIANCE'));
    const qT = qty(idOf('TCS'));
    expect(qR).toBeGreaterThan(0);
    const values = days.map((_, i) => qR * relCloses[i]! + qT * tcsCloses[i]!);
    const index = days.map((_, i) => 100 * (0.6 * (relCloses[i]! / 1500) + 0.4 * (tcsCloses[i]! / 3200)));

    const r = await must(server, PERF, { i: inv.id, f: days[0]!.toISOString(), t: days[9]!.toISOString() }, u.token);
    const p = r.investmentPerformance;
    expect(p.series.map((s: { value: string }) => Number(s.value))).toEqual([0, ...values]);
    expect(Number(p.series[1].netFlow)).toBeCloseTo(cost, 6);
    expect(Number(p.netFlows)).toBeCloseTo(cost, 6);
    const rs = values.map((v, i) => (i === 0 ? v / cost - 1 : v / values[i - 1]! - 1));
    expect(p.metrics.twr).toBeCloseTo(rs.reduce((a, x) => a * (1 + x), 1) - 1, 10);
    expect(p.benchmarkReturn).toBeCloseTo(index[9]! / index[0]! - 1, 10);
    const br = index.slice(1).map((x, i) => x / index[i]! - 1);
    const pr = rs.slice(1);
    const cov = pr.reduce((s, x, i) => s + (x - mean(pr)) * (br[i]! - mean(br)), 0);
    const vb = br.reduce((s, x) => s + (x - mean(br)) ** 2, 0);
    expect(p.metrics.beta).toBeCloseTo(cov / vb, 8);

    // A later window starts from the close before it, with no flows inside.
    const later = (await must(server, PERF, { i: inv.id, f: days[5]!.toISOString(), t: days[9]!.toISOString() }, u.token)).investmentPerformance;
    expect(Number(later.startValue)).toBeCloseTo(values[4]!, 6);
    expect(Number(later.netFlows)).toBe(0);
    expect(later.metrics.twr).toBeCloseTo(values[9]! / values[4]! - 1, 10);
    expect(later.benchmarkReturn).toBeCloseTo(index[9]! / index[4]! - 1, 10);

    // Someone else's investment is not found; a reversed range is bad input.
    const other = await newUser(server, 'nosy');
    expect(errorCode(await gql(server, PERF, { i: inv.id, r: 'MAX' }, other.token))).toBe('NOT_FOUND');
    const bad = await gql(server, PERF, { i: inv.id, f: days[5]!.toISOString(), t: days[1]!.toISOString() }, u.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from', reason: 'RANGE_REVERSED' });
  });

  it("the close-of-day job values every portfolio at today's quotes, and performance's today point is live", async () => {
    const db = server.app.db.db;
    const u = await newUser(server, 'job');
    const pid = (await must(server, `mutation{ createPortfolio(name:"job"){ id } }`, {}, u.token)).createPortfolio.id;
    const today = new Date().toISOString().slice(0, 10);
    await must(
      server,
      `mutation($p:ID!,$a:[ActivityInput!]!){ importActivities(portfolioId:$p, activities:$a){ imported } }`,
      { p: pid, a: [
        { date: `${today}T00:00:00Z`, type: 'DEPOSIT', amount: '100000' },
        { date: `${today}T00:00:00Z`, type: 'BUY', symbol: 'RELIANCE', exchange: 'NSE', quantity: '10', price: '1500' },
      ] },
      u.token,
    );
    // Stop the simulated market so quotes hold still (its stop writes the last quotes and candles).
    await server.app.market()?.close();
    const n = await server.app.services.analytics.job.runOnce();
    expect(n).toBeGreaterThanOrEqual(1);
    const [row] = await db.select().from(portfolioValuations).where(and(eq(portfolioValuations.portfolioId, pid), eq(portfolioValuations.day, today)));
    const q = await db.execute(sql`select q.last::text as last from latest_quotes q join instruments i on i.id = q.instrument_id where i.symbol = 'RELIANCE' and i.exchange = 'NSE'`);
    const stored = ((Array.isArray(q) ? q : (q as { rows: { last: string }[] }).rows) as { last: string }[])[0]!.last;
    expect(row).toBeDefined();
    expect(Number(row!.cash)).toBe(85000);
    expect(Number(row!.netFlow)).toBe(100000);
    expect(Number(row!.positionsValue)).toBeCloseTo(10 * Number(stored), 8);
    expect(Number(row!.value)).toBeCloseTo(85000 + 10 * Number(stored), 8);
    expect(row!.carriedPrices + row!.missingPrices).toBe(0);

    // performance D1: today's point is cash + 10 × the live quote
    const live = Number(server.app.quotes.get('RELIANCE', 'NSE')!.last);
    const d1 = (await must(server, `query($p:ID!){ performance(portfolioId:$p, range:D1){ endValue netFlows series { value } } }`, { p: pid }, u.token)).performance;
    expect(Number(d1.endValue)).toBeCloseTo(85000 + 10 * live, 8);
    expect(d1.netFlows).toBe('100000.00');
  });
});
