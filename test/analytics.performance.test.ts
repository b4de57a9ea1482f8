/**
 * Analytics through GraphQL, as a user moving from another tracker would: daily candles, a history of
 * activities with known answers, then every metric compared with a computation written out here from
 * the conventions (not with the metrics module).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, lt } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { errorCode, gql, must, newUser } from './support/gql.js';
import { candles, instruments, portfolioValuations, users } from '../src/db/schema/index.js';

const DAY = 86_400_000;
/** A Monday at least five weeks ago, 00:00 UTC. */
function mondayWeeksAgo(weeks: number): Date {
  const t = new Date();
  const d = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()) - weeks * 7 * DAY;
  const wd = new Date(d).getUTCDay();
  return new Date(d - ((wd + 6) % 7) * DAY);
}
const D0 = mondayWeeksAgo(5);
/** The ten weekdays: Mon–Fri of two weeks. */
const days = [0, 1, 2, 3, 4, 7, 8, 9, 10, 11].map((n) => new Date(D0.getTime() + n * DAY));
const iso = (i: number) => days[i]!.toISOString();
const rel = [1500, 1520, 1490, 1510, 1525, 1540, 1530, 1515, 1550, 1560];
const tcs = [3200, 3232, 3190, 3215, 3260, 3270, 3240, 3230, 3300, 3290];

const activities = [
  { date: iso(0), type: 'DEPOSIT', amount: '100000' },
  { date: iso(0), type: 'BUY', symbol: 'RELIANCE', exchange: 'NSE', quantity: '50', price: '1500', fee: '20' },
  { date: iso(2), type: 'DEPOSIT', amount: '20000' },
  { date: iso(3), type: 'BUY', symbol: 'RELIANCE', quantity: '10', price: '1510', fee: '5' },
  { date: iso(5), type: 'SELL', symbol: 'RELIANCE', quantity: '20', price: '1530', fee: '10' },
  { date: iso(6), type: 'DIVIDEND', symbol: 'RELIANCE', amount: '500' },
  { date: iso(7), type: 'WITHDRAWAL', amount: '10000' },
  { date: iso(7), type: 'FEE', amount: '100' },
];
// Written out by hand from the activities above.
const cash = [24980, 24980, 44980, 29875, 29875, 60465, 60965, 50865, 50865, 50865];
const qty = [50, 50, 50, 60, 60, 40, 40, 40, 40, 40];
const flows = [100000, 0, 20000, 0, 0, 0, 0, -10000, 0, 0];
const values = cash.map((c, i) => c + qty[i]! * rel[i]!);

/** Daily returns with the README's convention: deposits work from the open, withdrawals leave at the close. */
function returns(vals: number[], fl: number[], base: number): number[] {
  return vals.map((v, i) => {
    const prev = i === 0 ? base : vals[i - 1]!;
    const f = fl[i]!;
    return (v - Math.min(f, 0)) / (prev + Math.max(f, 0)) - 1;
  });
}
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1));

const PERF = `query($p:ID!,$r:PerformanceRange,$f:DateTime,$t:DateTime,$b:String){ performance(portfolioId:$p, range:$r, from:$f, to:$t, benchmark:$b){
  from to startValue endValue netFlows profit
  metrics { totalReturn twr xirr cagr volatility sharpe sortino maxDrawdown maxDrawdownFrom maxDrawdownTo calmar beta alpha }
  series { time value netFlow twrIndex drawdown } } }`;
const IMPORT = `mutation($p:ID!,$a:[ActivityInput!]!){ importActivities(portfolioId:$p, activities:$a){ imported skipped errors { line message } } }`;

describe.each(modes())('analytics: imported history, valuations and performance (%s)', (mode) => {
  let server: TestServer;
  let user: Awaited<ReturnType<typeof newUser>>;
  let pid: string;

  beforeAll(async () => {
    server = await startTestServer({ mode, env: { MARKET_SIM: 'false' } });
    const db = server.app.db.db;
    const rows = await db.select().from(instruments);
    const id = (s: string) => rows.find((r) => r.symbol === s && r.exchange === 'NSE')!.id;
    const bar = (instrumentId: string, i: number, close: number) => ({
      instrumentId, interval: '1d', startsAt: days[i]!, open: String(close), high: String(close), low: String(close), close: String(close), volume: '1000',
    });
    await db.insert(candles).values([...rel.map((c, i) => bar(id('RELIANCE'), i, c)), ...tcs.map((c, i) => bar(id('TCS'), i, c))]);
    user = await newUser(server, 'analytics');
    pid = (await must(server, `mutation{ createPortfolio(name:"history"){ id } }`, {}, user.token)).createPortfolio.id;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('imports the history once, builds positions and cash, and skips it on re-import', async () => {
    const first = await must(server, IMPORT, { p: pid, a: activities }, user.token);
    expect(first.importActivities).toEqual({ imported: 8, skipped: 0, errors: [] });
    const again = await must(server, IMPORT, { p: pid, a: activities }, user.token);
    expect(again.importActivities).toEqual({ imported: 0, skipped: 8, errors: [] });
    const p = await must(server, `query($p:ID!){ portfolio(id:$p){ cash positions { quantity averageCost instrument { symbol } } } }`, { p: pid }, user.token);
    expect(p.portfolio.cash).toBe('50865.00');
    expect(p.portfolio.positions).toEqual([{ quantity: '40.00', averageCost: '1501.66666667', instrument: { symbol: 'RELIANCE' } }]);
  });

  it('values each day at its close and computes every metric as written out by hand', async () => {
    const r = await must(server, PERF, { p: pid, f: iso(0), t: iso(9), b: 'NSE:TCS' }, user.token);
    const perf = r.performance;
    // base: nothing the day before the first activity, then one point per weekday
    expect(perf.series.map((s: { value: string }) => Number(s.value))).toEqual([0, ...values]);
    expect(perf.series.map((s: { netFlow: string }) => Number(s.netFlow))).toEqual([0, ...flows]);
    expect(perf.startValue).toBe('0.00');
    expect(Number(perf.endValue)).toBe(values[9]);
    expect(perf.netFlows).toBe('110000.00');
    expect(Number(perf.profit)).toBeCloseTo(values[9]! - 110000, 8);

    const rs = returns(values, flows, 0);
    const twr = rs.reduce((p, x) => p * (1 + x), 1) - 1;
    const m = perf.metrics;
    expect(m.twr).toBeCloseTo(twr, 10);
    expect(m.totalReturn).toBeCloseTo((values[9]! - 110000) / 120000, 10);
    expect(m.volatility).toBeCloseTo(sd(rs) * Math.sqrt(252), 10);
    expect(m.sharpe).toBeCloseTo((mean(rs) / sd(rs)) * Math.sqrt(252), 8);
    const downside = Math.sqrt(mean(rs.map((x) => Math.min(x, 0) ** 2)));
    expect(m.sortino).toBeCloseTo((mean(rs) / downside) * Math.sqrt(252), 8);
    const calendarDays = (days[9]!.getTime() - (days[0]!.getTime() - DAY)) / DAY;
    expect(m.cagr).toBeCloseTo((1 + twr) ** (365 / calendarDays) - 1, 8);

    // drawdown on the TWR index
    let idx = 1;
    let peak = 1;
    let worst = 0;
    const dds = rs.map((x) => {
      idx *= 1 + x;
      peak = Math.max(peak, idx);
      worst = Math.min(worst, idx / peak - 1);
      return idx / peak - 1;
    });
    expect(m.maxDrawdown).toBeCloseTo(worst, 12);
    perf.series.slice(1).forEach((s: { drawdown: number }, i: number) => expect(s.drawdown).toBeCloseTo(dds[i]!, 12));

    // XIRR: the investor's flows and the final value discount to zero at the reported rate (actual/365)
    const cf = flows.map((f, i) => ({ t: days[i]!.getTime(), a: -f })).filter((x) => x.a !== 0);
    cf.push({ t: days[9]!.getTime(), a: values[9]! });
    const npv = (rate: number) => cf.reduce((s, x) => s + x.a / (1 + rate) ** ((x.t - cf[0]!.t) / DAY / 365), 0);
    expect(Math.abs(npv(m.xirr))).toBeLessThan(1e-4);

    // beta against TCS (the first return's benchmark move is unknown: no close before the first day)
    const br = tcs.slice(1).map((c, i) => c / tcs[i]! - 1);
    const pr = rs.slice(1);
    const cov = pr.reduce((s, x, i) => s + (x - mean(pr)) * (br[i]! - mean(br)), 0);
    const vb = br.reduce((s, x) => s + (x - mean(br)) ** 2, 0);
    expect(m.beta).toBeCloseTo(cov / vb, 10);
    expect(m.alpha).toBeCloseTo((mean(pr) - (cov / vb) * mean(br)) * 252, 8);
  });

  it('measures a later window from the close before it', async () => {
    const r = await must(server, PERF, { p: pid, f: iso(5), t: iso(9) }, user.token);
    const perf = r.performance;
    expect(Number(perf.startValue)).toBe(values[4]);
    expect(perf.netFlows).toBe('-10000.00');
    expect(Number(perf.profit)).toBeCloseTo(values[9]! - values[4]! + 10000, 8);
    const rs = returns(values.slice(5), flows.slice(5), values[4]!);
    expect(perf.metrics.twr).toBeCloseTo(rs.reduce((p, x) => p * (1 + x), 1) - 1, 10);
    expect(perf.series).toHaveLength(6);
    const few = await must(server, `query($p:ID!,$f:DateTime,$t:DateTime){ performance(portfolioId:$p, from:$f, to:$t){ series(points:3){ value } } }`, { p: pid, f: iso(5), t: iso(9) }, user.token);
    expect(few.performance.series.map((x: { value: string }) => Number(x.value))).toEqual([values[4], expect.any(Number), values[9]]);
    // As Backtest.equityCurve: at most `points` (one is the last), and 1–2000 or OUT_OF_RANGE.
    const POINTS = `query($p:ID!,$f:DateTime,$t:DateTime,$n:Int){ performance(portfolioId:$p, from:$f, to:$t){ series(points:$n){ value } } }`;
    const one = await must(server, POINTS, { p: pid, f: iso(5), t: iso(9), n: 1 }, user.token);
    expect(one.performance.series.map((x: { value: string }) => Number(x.value))).toEqual([values[9]]);
    for (const n of [0, -1, 2001]) {
      const bad = await gql(server, POINTS, { p: pid, f: iso(5), t: iso(9), n }, user.token);
      expect(bad.errors?.[0]?.extensions, String(n)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'points', reason: 'OUT_OF_RANGE' });
    }
  });

  it('answers the preset ranges: MAX and Y1 since inception, D1 and W1 flat after the last close', async () => {
    const custom = (await must(server, PERF, { p: pid, f: iso(0), t: iso(9) }, user.token)).performance;
    const max = (await must(server, PERF, { p: pid, r: 'MAX' }, user.token)).performance;
    const y1 = (await must(server, PERF, { p: pid, r: 'Y1' }, user.token)).performance;
    // later days carry the last close: no return after D9
    expect(max.metrics.twr).toBeCloseTo(custom.metrics.twr, 10);
    expect(y1.metrics.twr).toBeCloseTo(custom.metrics.twr, 10);
    expect(max.endValue).toBe(custom.endValue);
    for (const range of ['D1', 'W1', 'MTD', 'YTD']) {
      const p = (await must(server, PERF, { p: pid, r: range }, user.token)).performance;
      expect(p.metrics.maxDrawdown).toBeLessThanOrEqual(0);
      expect(p.endValue).toBe(custom.endValue);
    }
    const d1 = (await must(server, PERF, { p: pid, r: 'D1' }, user.token)).performance;
    expect(d1.series.length).toBeGreaterThanOrEqual(1);
    expect(d1.metrics.totalReturn).toBe(0);
  });

  it('rebuilds valuations that are missing before the stored ones from the history', async () => {
    const db = server.app.db.db;
    await db.delete(portfolioValuations).where(and(eq(portfolioValuations.portfolioId, pid), lt(portfolioValuations.day, iso(5).slice(0, 10))));
    const r = await must(server, PERF, { p: pid, f: iso(0), t: iso(9) }, user.token);
    expect(r.performance.series.map((s: { value: string }) => Number(s.value))).toEqual([0, ...values]);
  });

  it('refuses a sell of more than is held at its date, naming the line, and writes nothing', async () => {
    const r = await gql(server, IMPORT, {
      p: pid,
      a: [
        { date: iso(1), type: 'DEPOSIT', amount: '5' },
        { date: iso(1), type: 'SELL', symbol: 'RELIANCE', quantity: '51', price: '1520' },
      ],
    }, user.token);
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions).toMatchObject({ line: 2, field: 'quantity', reason: 'INSUFFICIENT_QUANTITY_AT_DATE', held: '50' });
    const p = await must(server, `query($p:ID!){ portfolio(id:$p){ cash } }`, { p: pid }, user.token);
    expect(p.portfolio.cash).toBe('50865.00');
  });

  it('reports bad activity lines with field, reason and line', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ date: iso(1), type: 'BUY', symbol: 'RELIANCE', quantity: '1', price: '-5' }, 'price', 'INVALID_PRICE'],
      [{ date: new Date(Date.now() + 3 * DAY).toISOString(), type: 'DEPOSIT', amount: '5' }, 'date', 'IN_FUTURE'],
      [{ date: iso(1), type: 'BUY', symbol: 'NOPE', quantity: '1', price: '5' }, 'symbol', 'UNKNOWN_SYMBOL'],
      [{ date: iso(1), type: 'DEPOSIT' }, 'amount', 'MISSING_AMOUNT'],
      [{ date: iso(1), type: 'BUY', symbol: 'AAPL', quantity: '1', price: '5' }, 'symbol', 'CURRENCY_MISMATCH'],
    ];
    for (const [bad, field, reason] of cases) {
      const r = await gql(server, IMPORT, { p: pid, a: [{ date: iso(1), type: 'DEPOSIT', amount: '1' }, bad] }, user.token);
      expect(errorCode(r), reason).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.extensions, reason).toMatchObject({ line: 2, field, reason });
    }
  });

  it('reports an unparseable activity date as BAD_USER_INPUT with the field and line', async () => {
    const r = await gql(server, IMPORT, { p: pid, a: [{ date: iso(1), type: 'DEPOSIT', amount: '1' }, { date: 'yesterday-ish', type: 'DEPOSIT', amount: '1' }] }, user.token);
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions).toMatchObject({ field: 'date', line: 2, reason: 'INVALID_DATE' });
    // written inline in the query: still BAD_USER_INPUT (graphql-js gives no path there)
    const inline = await gql(server, `mutation{ importActivities(portfolioId:"${pid}", activities:[{date:"31/02/2024", type:DEPOSIT, amount:"1"}]){ imported } }`, {}, user.token);
    expect(inline.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_DATE' });
  });

  it('rejects reversed, future and pre-inception ranges and an unknown benchmark', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ f: iso(5), t: iso(1) }, 'from', 'RANGE_REVERSED'],
      [{ t: new Date(Date.now() + 2 * DAY).toISOString() }, 'to', 'IN_FUTURE'],
      [{ f: new Date(Date.now() + 2 * DAY).toISOString() }, 'from', 'IN_FUTURE'],
      [{ f: new Date(D0.getTime() - 30 * DAY).toISOString(), t: new Date(D0.getTime() - 20 * DAY).toISOString() }, 'to', 'BEFORE_INCEPTION'],
      [{ r: 'MAX', b: 'NOSUCH' }, 'benchmark', 'UNKNOWN_BENCHMARK'],
    ];
    for (const [vars, field, reason] of cases) {
      const r = await gql(server, PERF, { p: pid, ...vars }, user.token);
      expect(errorCode(r), reason).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.extensions, reason).toMatchObject({ field, reason });
    }
  });

  it("hides another user's portfolio", async () => {
    const other = await newUser(server, 'other');
    expect(errorCode(await gql(server, PERF, { p: pid, r: 'MAX' }, other.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(server, IMPORT, { p: pid, a: activities }, other.token))).toBe('NOT_FOUND');
  });

  it("sums an advisor's book over the clients' portfolios, for the advisor and admins only", async () => {
    const db = server.app.db.db;
    const advisor = await newUser(server, 'advisor');
    const client2 = await newUser(server, 'client2');
    await db.update(users).set({ role: 'ADVISOR' }).where(eq(users.id, advisor.id));
    await db.update(users).set({ advisorId: advisor.id }).where(eq(users.id, user.id));
    await db.update(users).set({ advisorId: advisor.id }).where(eq(users.id, client2.id));
    const p2 = (await must(server, `mutation{ createPortfolio(name:"second"){ id } }`, {}, client2.token)).createPortfolio.id;
    const second = [
      { date: iso(2), type: 'DEPOSIT', amount: '50000' },
      { date: iso(3), type: 'BUY', symbol: 'RELIANCE', quantity: '10', price: '1510' },
    ];
    await must(server, IMPORT, { p: p2, a: second }, client2.token);
    const login = await must(server, `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }`, { e: advisor.email, p: advisor.password });
    const token = login.login.accessToken;
    const Q = `query($a:ID!,$f:DateTime,$t:DateTime){ advisorPerformance(advisorId:$a, currency:"INR", from:$f, to:$t){ startValue endValue netFlows series { value netFlow } metrics { twr } } }`;
    const book = (await must(server, Q, { a: advisor.id, f: iso(0), t: iso(9) }, token)).advisorPerformance;
    const v2 = days.map((_, i) => (i < 2 ? 0 : i === 2 ? 50000 : 50000 - 15100 + 10 * rel[i]!));
    const f2 = [0, 0, 50000, 0, 0, 0, 0, 0, 0, 0];
    const total = values.map((v, i) => v + v2[i]!);
    const totalFlows = flows.map((f, i) => f + f2[i]!);
    expect(book.series.map((s: { value: string }) => Number(s.value))).toEqual([0, ...total]);
    expect(book.netFlows).toBe('160000.00');
    const rs = returns(total, totalFlows, 0);
    expect(book.metrics.twr).toBeCloseTo(rs.reduce((p, x) => p * (1 + x), 1) - 1, 10);
    // a client may not ask; another advisor does not see it
    expect(errorCode(await gql(server, Q, { a: advisor.id }, client2.token))).toBe('FORBIDDEN');
    const stranger = await newUser(server, 'advisor2');
    await db.update(users).set({ role: 'ADVISOR' }).where(eq(users.id, stranger.id));
    const t2 = (await must(server, `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }`, { e: stranger.email, p: stranger.password })).login.accessToken;
    expect(errorCode(await gql(server, Q, { a: advisor.id }, t2))).toBe('NOT_FOUND');
  });
});
