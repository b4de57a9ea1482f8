import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, newUser, waitFor, wsClient } from './support/gql.js';

const RUN = `mutation($i:BacktestInput!){ runBacktest(input:$i){ id status } }`;
const GET = `query($id:ID!,$p:Int){ backtest(id:$id){ id status progress barsProcessed signals error
  metrics { totalReturn twr cagr volatility sharpe maxDrawdown trades winRate exposure }
  equityCurve(points:$p){ time value twrIndex drawdown }
  trades(first:60){ totalCount edges { node { side quantity entryTime entryPrice exitTime exitPrice pnl } } } } }`;
const day = 86_400_000;

describe.each(modes())('backtests over GraphQL (%s)', (mode) => {
  let server: TestServer;
  let token: string;
  const to = new Date(Math.floor(Date.now() / day) * day - day);
  const from = new Date(to.getTime() - 600 * day);
  const input = (patch: Record<string, unknown> = {}) => ({
    definition: { name: 'bt', kind: 'SMA_CROSS', parameters: { fast: 5, slow: 20 }, interval: 'D1', universe: { symbols: ['INFY', 'TCS'] }, mode: 'SIGNAL_ONLY', sizing: { percentOfEquity: '40' } },
    from: from.toISOString(),
    to: to.toISOString(),
    initialCash: '1000000',
    feeRate: '0.001',
    slippageBps: 5,
    ...patch,
  });
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { MARKET_HISTORY: 'true', MARKET_HISTORY_DAILY_DAYS: '700', MARKET_HISTORY_MINUTE_DAYS: '0', BACKTEST_MAX_DAYS: '1000' } });
    await server.app.marketHistory();
    token = (await newUser(server)).token;
  });
  afterAll(async () => {
    await server?.close();
  });

  const finish = async (id: string) => {
    let b: Record<string, any> = {};
    await waitFor('backtest to end', async () => {
      b = (await must(server, GET, { id, p: 2000 }, token)).backtest;
      return ['COMPLETED', 'FAILED', 'CANCELED'].includes(b.status);
    }, 30_000);
    return b;
  };

  it('runs as a job with progress pushed on backtestProgress, and metrics recomputable from its equity curve', async () => {
    const ws = wsClient(server, token);
    const bt = (await must(server, RUN, { i: input() }, token)).runBacktest;
    expect(['QUEUED', 'RUNNING', 'COMPLETED']).toContain(bt.status);
    const progress = collect<{ backtestProgress: { status: string; progress: number } }>(ws, `subscription($id:ID!){ backtestProgress(backtestId:$id){ status progress } }`, { id: bt.id });
    const b = await finish(bt.id);
    expect(b.status).toBe('COMPLETED');
    await waitFor('final state pushed', () => progress.items.some((p) => p.backtestProgress.status === 'COMPLETED'));
    // The state on subscribe comes first, whatever it was.
    expect(progress.items.length).toBeGreaterThanOrEqual(1);
    expect(b.progress).toBe(1);
    expect(b.barsProcessed).toBeGreaterThan(700);
    expect(b.trades.totalCount).toBeGreaterThan(2);
    const curve = b.equityCurve as { value: string; twrIndex: number; drawdown: number }[];
    const first = Number(curve[0]!.value);
    const last = Number(curve.at(-1)!.value);
    expect(first).toBe(1000000);
    expect(b.metrics.totalReturn).toBeCloseTo(last / first - 1, 8);
    expect(b.metrics.maxDrawdown).toBeCloseTo(Math.min(...curve.map((p) => p.drawdown)), 10);
    const closed = b.trades.edges.map((e: { node: { pnl: string | null } }) => e.node).filter((t: { pnl: string | null }) => t.pnl !== null);
    expect(b.metrics.winRate).toBeCloseTo(closed.filter((t: { pnl: string }) => Number(t.pnl) > 0).length / closed.length, 10);
    const small = (await must(server, GET, { id: bt.id, p: 10 }, token)).backtest.equityCurve;
    expect(small).toHaveLength(10);
    expect(small.at(-1).value).toBe(curve.at(-1)!.value);
    progress.dispose();
    await ws.dispose();
  });

  it('is deterministic: the same input gives the same trades and figures', async () => {
    const a = await finish((await must(server, RUN, { i: input() }, token)).runBacktest.id);
    const b = await finish((await must(server, RUN, { i: input() }, token)).runBacktest.id);
    expect(b.metrics).toEqual(a.metrics);
    expect(b.trades).toEqual(a.trades);
    expect(b.equityCurve).toEqual(a.equityCurve);
  });

  it('cancels a queued or running backtest', async () => {
    const bt = (await must(server, RUN, { i: input() }, token)).runBacktest;
    const c = await gql(server, `mutation($id:ID!){ cancelBacktest(id:$id){ status } }`, { id: bt.id }, token);
    const b = await finish(bt.id);
    if (c.errors) {
      // It finished before the cancel arrived: then cancelling is refused as INVALID_STATE.
      expect(errorCode(c)).toBe('INVALID_STATE');
      expect(b.status).toBe('COMPLETED');
    } else expect(b.status).toBe('CANCELED');
    const again = await gql(server, `mutation($id:ID!){ cancelBacktest(id:$id){ status } }`, { id: bt.id }, token);
    expect(errorCode(again)).toBe('INVALID_STATE');
  });

  it('refuses a range with no data or longer than the maximum, and bad money inputs, with field and reason', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ from: '2001-01-01T00:00:00Z', to: '2001-06-01T00:00:00Z' }, 'from', 'NO_DATA'],
      [{ from: '2020-01-01T00:00:00Z', to: '2024-01-01T00:00:00Z' }, 'to', 'RANGE_TOO_LONG'],
      [{ initialCash: '0' }, 'initialCash', 'INVALID_AMOUNT'],
      [{ feeRate: '0.5' }, 'feeRate', 'OUT_OF_RANGE'],
      [{ definition: { ...input().definition, universe: { symbols: [] } } }, 'universe.symbols', 'EMPTY_UNIVERSE'],
    ];
    for (const [patch, field, reason] of cases) {
      const r = await gql(server, RUN, { i: input(patch) }, token);
      expect(r.errors?.[0]?.extensions, JSON.stringify(patch)).toMatchObject({ code: 'BAD_USER_INPUT', field, reason });
    }
  });

  it('replays the one bar when from == to (both ends inclusive), and refuses from after to', async () => {
    const c = (await must(server, `{ candles(symbol:"INFY", interval:D1, last:5){ time } }`, {}, token)).candles as { time: string }[];
    const t = c[2]!.time;
    const b = await finish((await must(server, RUN, { i: input({ from: t, to: t }) }, token)).runBacktest.id);
    expect(b.status).toBe('COMPLETED');
    expect(b.barsProcessed).toBe(2); // INFY and TCS, one bar each
    const r = await gql(server, RUN, { i: input({ from: t, to: new Date(new Date(t).getTime() - 1).toISOString() }) }, token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from', reason: 'INVALID_RANGE' });
  });

  it("hides another user's backtest", async () => {
    const bt = (await must(server, RUN, { i: input() }, token)).runBacktest;
    const other = await newUser(server);
    expect(errorCode(await gql(server, GET, { id: bt.id }, other.token))).toBe('NOT_FOUND');
    await finish(bt.id);
  });
});
