import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, newUser, waitFor, wsClient } from './support/gql.js';
import { createFundedPortfolio, waitForQuote, waitForStatus } from './support/trading.js';

const CREATE = `mutation($i:CreateStrategyInput!){ createStrategy(input:$i){ id status mode schedule timezone nextRunAt } }`;
const RUN = `mutation($id:ID!){ runStrategyNow(id:$id){ id status evaluated orders error signals { id action status price barTime reason order { id clientOrderId status } instrument { symbol } } } }`;
const rules = (entry: string, extra: Record<string, unknown> = {}) => ({
  name: 'always in',
  kind: 'RULES',
  rules: { entry, exit: 'close < 0' },
  interval: 'D1',
  universe: { symbols: ['RELIANCE'] },
  mode: 'SIGNAL_ONLY',
  ...extra,
});

describe.each(modes())('strategies over GraphQL (%s)', (mode) => {
  let server: TestServer;
  let u: { token: string; id: string };
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { MARKET_HISTORY: 'true', MARKET_HISTORY_DAILY_DAYS: '500', MARKET_HISTORY_MINUTE_DAYS: '1', BACKTEST_MAX_DAYS: '1000' } });
    await server.app.marketHistory();
    await waitForQuote(server, 'RELIANCE');
    u = await newUser(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('SIGNAL_ONLY: a run records the signal of the last closed bar, pushes strategySignal, and a re-run signals nothing new', async () => {
    const s = (await must(server, CREATE, { i: rules('close > 0') }, u.token)).createStrategy;
    const ws = wsClient(server, u.token);
    // `after` replays what was recorded before the subscription went live: no race with the run below.
    const pushed = collect<{ strategySignal: { action: string; instrument: { symbol: string } } }>(ws, `subscription($s:ID,$a:DateTime){ strategySignal(strategyId:$s, after:$a){ action instrument { symbol } } }`, {
      s: s.id,
      a: new Date(Date.now() - 60_000).toISOString(),
    });
    const run = (await must(server, RUN, { id: s.id }, u.token)).runStrategyNow;
    expect(run).toMatchObject({ status: 'COMPLETED', evaluated: 1, orders: 0, error: null });
    expect(run.signals).toHaveLength(1);
    expect(run.signals[0]).toMatchObject({ action: 'ENTER_LONG', status: 'NEW', instrument: { symbol: 'RELIANCE' }, reason: 'close > 0' });
    await waitFor('strategySignal', () => pushed.items.length === 1 || pushed.errors.length > 0);
    expect(pushed.errors).toEqual([]);
    expect(pushed.items[0]!.strategySignal.action).toBe('ENTER_LONG');
    // The owner is also notified (strategy.signal), once per signal.
    const signalNotes = async () =>
      (await must(server, `{ notifications(first: 20) { edges { node { kind data } } } }`, {}, u.token)).notifications.edges.filter(
        (e: { node: { kind: string; data: { signalId?: string } } }) => e.node.kind === 'strategy.signal' && e.node.data.signalId === run.signals[0].id,
      );
    await waitFor('the strategy.signal notification', async () => (await signalNotes()).length > 0, 15_000);
    const again = (await must(server, RUN, { id: s.id }, u.token)).runStrategyNow;
    expect(again.signals).toHaveLength(0);
    expect(await signalNotes()).toHaveLength(1);
    const hist = await must(server, `query($id:ID!){ strategy(id:$id){ runs(first:10){ edges { node { id evaluated } } } } }`, { id: s.id }, u.token);
    expect(hist.strategy.runs.edges).toHaveLength(2);
    pushed.dispose();
    await ws.dispose();
  });

  it('AUTO: places one order through the order loop with a client order id from strategy, bar and symbol, never twice for a bar', async () => {
    const pid = await createFundedPortfolio(server, u.token, { amount: '1000000' });
    const s = (await must(server, CREATE, { i: rules('close > 0', { mode: 'AUTO', portfolioId: pid, sizing: { quantity: '2' } }) }, u.token)).createStrategy;
    // Two runs at once evaluate the same bar: one signal, one order.
    const [a, b] = await Promise.all([must(server, RUN, { id: s.id }, u.token), must(server, RUN, { id: s.id }, u.token)]);
    const signals = [...a.runStrategyNow.signals, ...b.runStrategyNow.signals];
    expect(signals).toHaveLength(1);
    const order = signals[0].order;
    expect(order.clientOrderId).toMatch(/^st-[0-9a-f]{40}$/);
    const filled = await waitForStatus(server, u.token, order.id, ['FILLED']);
    expect(filled.filledQuantity).toBe('2.00');
    const orders = await must(server, `query($p:ID!){ portfolio(id:$p){ orders(first:50){ edges { node { id } } } } }`, { p: pid }, u.token);
    expect(orders.portfolio.orders.edges).toHaveLength(1);
  });

  it('APPROVAL: the signal waits, and approving it places the order', async () => {
    const pid = await createFundedPortfolio(server, u.token, { amount: '1000000' });
    const s = (await must(server, CREATE, { i: rules('close > 0', { mode: 'APPROVAL', portfolioId: pid }) }, u.token)).createStrategy;
    const run = (await must(server, RUN, { id: s.id }, u.token)).runStrategyNow;
    expect(run.signals[0]).toMatchObject({ status: 'PENDING_APPROVAL', order: null });
    const ok = await must(server, `mutation($id:ID!){ approveSignal(id:$id){ status order { id } } }`, { id: run.signals[0].id }, u.token);
    expect(ok.approveSignal.status).toBe('ORDERED');
    await waitForStatus(server, u.token, ok.approveSignal.order.id, ['FILLED']);
    const twice = await gql(server, `mutation($id:ID!){ approveSignal(id:$id){ status } }`, { id: run.signals[0].id }, u.token);
    expect(errorCode(twice)).toBe('INVALID_STATE');
  });

  it('each built-in runs over a watchlist universe; pause, resume, update and delete', async () => {
    const wl = await must(server, `mutation{ createWatchlist(name:"strat-universe", symbols:["INFY","TCS"]){ id } }`, {}, u.token);
    for (const kind of ['MACD_VWAP', 'SMA_CROSS', 'RSI_REVERSION', 'STD_MOMENTUM']) {
      const s = (await must(server, CREATE, { i: { name: kind, kind, interval: 'D1', universe: { watchlistId: wl.createWatchlist.id }, mode: 'SIGNAL_ONLY', schedule: '*/5 9-15 * * 1-5', timezone: 'Asia/Kolkata' } }, u.token)).createStrategy;
      expect(s.nextRunAt).not.toBeNull();
      const run = (await must(server, RUN, { id: s.id }, u.token)).runStrategyNow;
      expect(run).toMatchObject({ status: 'COMPLETED', evaluated: 2, error: null });
      const paused = await must(server, `mutation($id:ID!){ pauseStrategy(id:$id){ status nextRunAt } }`, { id: s.id }, u.token);
      expect(paused.pauseStrategy).toEqual({ status: 'PAUSED', nextRunAt: null });
      expect((await must(server, `mutation($id:ID!){ resumeStrategy(id:$id){ status } }`, { id: s.id }, u.token)).resumeStrategy.status).toBe('ACTIVE');
    }
    const s = (await must(server, CREATE, { i: rules('close > 0') }, u.token)).createStrategy;
    const up = await must(server, `mutation($id:ID!,$i:CreateStrategyInput!){ updateStrategy(id:$id, input:$i){ id kind parameters } }`, { id: s.id, i: { ...rules('x'), kind: 'SMA_CROSS', rules: null, parameters: { fast: 3, slow: 9 } } }, u.token);
    expect(up.updateStrategy).toMatchObject({ kind: 'SMA_CROSS', parameters: { fast: 3, slow: 9 } });
    expect((await must(server, `mutation($id:ID!){ deleteStrategy(id:$id) }`, { id: s.id }, u.token)).deleteStrategy).toBe(true);
    expect(errorCode(await gql(server, `query($id:ID!){ strategy(id:$id){ id } }`, { id: s.id }, u.token))).toBe('NOT_FOUND');
  }, 120_000);

  it('a strategy that fails at run time records the error in its run; others still run', async () => {
    const wl = await must(server, `mutation{ createWatchlist(name:"doomed", symbols:["INFY"]){ id } }`, {}, u.token);
    const s = (await must(server, CREATE, { i: { ...rules('close > 0'), universe: { watchlistId: wl.createWatchlist.id } } }, u.token)).createStrategy;
    await must(server, `mutation($id:ID!){ deleteWatchlist(id:$id) }`, { id: wl.createWatchlist.id }, u.token);
    const run = (await must(server, RUN, { id: s.id }, u.token)).runStrategyNow;
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/watchlist/);
    const other = (await must(server, CREATE, { i: rules('close > 0') }, u.token)).createStrategy;
    expect((await must(server, RUN, { id: other.id }, u.token)).runStrategyNow.status).toBe('COMPLETED');
  });

  it('a scheduled AUTO tick delivered to two workers at once runs and trades once', async () => {
    const pid = await createFundedPortfolio(server, u.token, { amount: '1000000' });
    const s = (await must(server, CREATE, { i: rules('close > 0', { mode: 'AUTO', portfolioId: pid, schedule: '0 0 1 1 *' }) }, u.token)).createStrategy;
    const at = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    // What two workers receiving the same BullMQ job (or a catch-up racing a late tick) would do.
    const runs = await Promise.all([server.app.services.strategies.onTick(s.id, at), server.app.services.strategies.onTick(s.id, new Date(at.getTime() + 1500))]);
    expect(runs.filter((r) => r !== null)).toHaveLength(1);
    const orders = await must(server, `query($p:ID!){ portfolio(id:$p){ orders(first:50){ edges { node { clientOrderId } } } } }`, { p: pid }, u.token);
    expect(orders.portfolio.orders.edges).toHaveLength(1);
    const hist = await must(server, `query($id:ID!){ strategy(id:$id){ runs(first:10){ edges { node { trigger } } } } }`, { id: s.id }, u.token);
    expect(hist.strategy.runs.edges.map((e: { node: { trigger: string } }) => e.node.trigger)).toEqual(['SCHEDULE']);
  });

  it.each([
    [{ rules: { entry: 'close >\n  foo(3)' } }, 'rules.entry', 'UNKNOWN_INDICATOR'],
    [{ rules: { entry: 'close > (' } }, 'rules.entry', 'PARSE_ERROR'],
    [{ rules: { entry: 'sma(close, 0) > 1' } }, 'rules.entry', 'INVALID_PERIOD'],
    [{ rules: { entry: 'rsi(close, 1, 2) > 1' } }, 'rules.entry', 'WRONG_ARITY'],
    [{ schedule: 'every minute' }, 'schedule', 'INVALID_CRON'],
    [{ schedule: '*/30 * * * * *' }, 'schedule', 'TOO_FREQUENT'],
    [{ schedule: '* * * * *', timezone: 'Mars/Base' }, 'timezone', 'INVALID_TIMEZONE'],
    [{ universe: { symbols: [] } }, 'universe.symbols', 'EMPTY_UNIVERSE'],
    [{ universe: { watchlistId: '00000000-0000-4000-8000-000000000000' } }, 'universe.watchlistId', 'NOT_FOUND'],
    [{ mode: 'AUTO' }, 'portfolioId', 'REQUIRED'],
    [{ kind: 'SMA_CROSS', rules: null, parameters: { fast: 0 } }, 'parameters.fast', 'INVALID_PERIOD'],
    [{ kind: 'SMA_CROSS', rules: null, parameters: { slow: 1e9 } }, 'parameters.slow', 'PERIOD_TOO_LARGE'],
  ])('refuses %j as BAD_USER_INPUT on %s (%s)', async (patch, field, reason) => {
    const r = await gql(server, CREATE, { i: { ...rules('close > 0'), ...patch } }, u.token);
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.extensions).toMatchObject({ field, reason });
  });

  it("refuses another user's watchlist as a universe", async () => {
    const other = await newUser(server);
    const wl = await must(server, `mutation{ createWatchlist(name:"mine", symbols:["INFY"]){ id } }`, {}, other.token);
    const r = await gql(server, CREATE, { i: { ...rules('close > 0'), universe: { watchlistId: wl.createWatchlist.id } } }, u.token);
    expect(r.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'universe.watchlistId', reason: 'NOT_FOUND' });
  });
});
