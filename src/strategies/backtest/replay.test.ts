import { describe, expect, it } from 'vitest';
import { generateHistory, type Bar } from '../../market/history.js';
import { buildRuleSet, type StrategyKind } from '../definition.js';
import { runEngine } from './engine.js';
import { evaluateNewBars } from '../../services/strategies/strategy-runner.js';
import type { Side } from '../signal-engine.js';
import { summarize } from './result.js';

const bars: Bar[] = generateHistory(
  { symbol: 'T', exchange: 'NSE', tickSize: '0.05', lotSize: '1', referencePrice: '1000', volatility: '0.35' },
  { seed: 11, now: new Date('2026-01-10T00:00:00Z'), dailyDays: 1500, minuteDays: 0 },
).bars['1d'];

const cases: [StrategyKind, Record<string, unknown>][] = [
  ['SMA_CROSS', { fast: 5, slow: 20 }],
  ['MACD_VWAP', {}],
  ['RSI_REVERSION', { period: 10 }],
  ['STD_MOMENTUM', { period: 10, z: 1.5, side: 'BOTH' }],
];

describe('a live run replayed bar by bar gives exactly the backtest signals', () => {
  it.each(cases)('%s', async (kind, params) => {
    const rules = buildRuleSet(kind, params);
    const start = 400;
    const bt = await runEngine([{ symbol: 'T', instrumentId: 'i', lot: '1', warmup: bars.slice(start - rules.warmup, start), bars: bars.slice(start) }], {
      rules,
      sizing: { quantity: '1' },
      initialCash: '100000',
      feeRate: '0',
      slippageBps: 0,
    });
    // Live: each run sees one new closed bar, warms on the bars before it, and carries its side forward.
    let side: Side = 'FLAT';
    const live: string[] = [];
    for (let i = start; i < bars.length; i++) {
      const out = evaluateNewBars(rules, side, bars.slice(Math.max(0, i - rules.warmup), i), [bars[i]!]);
      side = out.side;
      for (const a of out.actions) live.push(`${a.bar.time}:${a.action}`);
    }
    const backtest = bt!.signals.map((s) => `${s.time}:${s.action}`);
    expect(backtest.length).toBeGreaterThan(2);
    expect(live).toEqual(backtest);
  });
});

describe('backtest engine', () => {
  const rules = buildRuleSet('SMA_CROSS', { fast: 5, slow: 20 });
  const input = () => [{ symbol: 'T', instrumentId: 'i', lot: '1', warmup: [], bars }];
  it('is deterministic: the same input gives the same trades and figures', async () => {
    const p = { rules, sizing: { percentOfEquity: '50' }, initialCash: '100000', feeRate: '0.001', slippageBps: 5 };
    const a = summarize((await runEngine(input(), p))!, '100000');
    const b = summarize((await runEngine(input(), p))!, '100000');
    expect(a).toEqual(b);
    expect(a.trades.length).toBeGreaterThan(3);
  });
  it('accounts every closed trade exactly: final cash = initial + Σ pnl when flat', async () => {
    const r = (await runEngine(input(), { rules, sizing: { quantity: '3' }, initialCash: '100000', feeRate: '0.001', slippageBps: 10 }))!;
    const open = r.trades.filter((t) => t.pnl === null);
    const pnl = r.trades.filter((t) => t.pnl !== null).reduce((s, t) => s + Number(t.pnl), 0);
    if (open.length === 0) expect(Number(r.finalCash)).toBeCloseTo(100000 + pnl, 6);
    else expect(Number(r.finalCash)).toBeCloseTo(100000 + pnl - Number(open[0]!.entryPrice) * 3 * 1.001, 4);
  });
  it('stops when the hook cancels', async () => {
    let calls = 0;
    const r = await runEngine(input(), { rules, sizing: {}, initialCash: '1000', feeRate: '0', slippageBps: 0 }, { chunk: 100, onChunk: async () => ++calls === 2 });
    expect(r).toBeNull();
    expect(calls).toBe(2);
  });
  it('reports trades in entry order, open ones among them, whatever order they closed in', async () => {
    // close > 100 enters, close < 100 exits. A enters first and exits last; B enters and exits in between;
    // C enters on the same bar as B (ties in series order) and is still open; D enters on the first bar.
    const at = (closes: number[]): Bar[] => closes.map((c, k) => ({ time: Date.UTC(2026, 0, 5 + k), open: c, high: c, low: c, close: c, volume: 1 }));
    const series = [
      { symbol: 'D', instrumentId: 'd', lot: '1', warmup: [], bars: at([110, 110, 110, 110, 110, 110]) },
      { symbol: 'A', instrumentId: 'a', lot: '1', warmup: [], bars: at([90, 110, 110, 110, 110, 90]) },
      { symbol: 'C', instrumentId: 'c', lot: '1', warmup: [], bars: at([90, 90, 110, 110, 110, 110]) },
      { symbol: 'B', instrumentId: 'b', lot: '1', warmup: [], bars: at([90, 90, 110, 90, 90, 90]) },
    ];
    const level = buildRuleSet('RULES', {}, { entry: 'close > 100', exit: 'close < 100', side: 'LONG' });
    const r = (await runEngine(series, { rules: level, sizing: { quantity: '1' }, initialCash: '100000', feeRate: '0', slippageBps: 0 }))!;
    expect(r.trades.map((t) => `${t.symbol}@${new Date(t.entryTime).getUTCDate()}${t.exitTime === null ? ' open' : ''}`)).toEqual(['D@5 open', 'A@6', 'C@7 open', 'B@7']);
  });
  it('skips a long entry that costs more than the cash, instead of borrowing; one that fits to the paisa is taken', async () => {
    const at = (closes: number[]): Bar[] => closes.map((c, k) => ({ time: Date.UTC(2026, 0, 5 + k), open: c, high: c, low: c, close: c, volume: 1 }));
    const level = buildRuleSet('RULES', {}, { entry: 'close > 100', exit: 'close < 100', side: 'LONG' });
    const run = (cash: string) => runEngine([{ symbol: 'T', instrumentId: 't', lot: '1', warmup: [], bars: at([90, 1343.5, 1343.5, 90, 1343.5, 1343.5]) }], { rules: level, sizing: { quantity: '10' }, initialCash: cash, feeRate: '0.001', slippageBps: 0 });
    // 10 × 1343.50 = 13435 plus a fee of 13.435: 13448.435.
    const short = (await run('13448.43499999'))!;
    expect(short.trades).toEqual([]);
    expect(short.finalCash).toBe('13448.43499999');
    expect(short.signals.map((s) => s.action)).toEqual(['ENTER_LONG', 'EXIT_LONG', 'ENTER_LONG']);
    // Exactly enough: taken. After its losing round trip (900 − 0.90 back) the second entry no longer fits.
    const exact = (await run('13448.435'))!;
    expect(exact.trades.map((t) => [t.quantity, t.exitTime === null])).toEqual([['10', false]]);
    expect(Number(exact.finalCash)).toBeCloseTo(899.1, 8);
  });
  it('keeps the equity curve exact to 8 places, and the total return computed from the exact final value', async () => {
    const at = (closes: number[]): Bar[] => closes.map((c, k) => ({ time: Date.UTC(2026, 0, 5 + k), open: c, high: c, low: c, close: c, volume: 1 }));
    const level = buildRuleSet('RULES', {}, { entry: 'close > 100', exit: 'close < 100', side: 'LONG' });
    // Buy 7 at 1543.37 (fee 0.0007 × 10803.59 = 7.562513), mark at 1544.01, sell at 99.99 (fee 0.489951).
    const r = (await runEngine([{ symbol: 'T', instrumentId: 't', lot: '1', warmup: [], bars: at([1543.37, 1544.01, 99.99]) }], { rules: level, sizing: { quantity: '7' }, initialCash: '1000000', feeRate: '0.0007', slippageBps: 0 }))!;
    const s = summarize(r, '1000000');
    expect(s.equity.map((p) => p.value)).toEqual(['1000000', '999992.437487', '999996.917487', '989888.287536']);
    expect(r.finalValue).toBe('989888.287536');
    expect(s.metrics.totalReturn).toBe(989888.287536 / 1000000 - 1);
  });
});
