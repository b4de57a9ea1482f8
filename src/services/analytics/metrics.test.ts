import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computePerformance, xnpv } from './metrics.js';
import type { ValuePoint } from './returns.js';

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n, 10, 0, 0));

/**
 * A hand-made week: daily returns +10 %, −3.75 % (a 500 deposit that morning), +10 %, −5 % (a 200
 * withdrawal at the close), +5 %. Every expected number below is written out from the definitions in
 * API.md, not taken from the module.
 */
const week: ValuePoint[] = [
  { time: day(0), value: '1000.00', netFlow: '0' },
  { time: day(1), value: '1100.00', netFlow: '0' },
  { time: day(2), value: '1540.00', netFlow: '500.00' }, // (1100 + 500) × 0.9625
  { time: day(3), value: '1694.00', netFlow: '0' }, // × 1.1
  { time: day(4), value: '1409.30', netFlow: '-200.00' }, // 1694 × 0.95 − 200
  { time: day(5), value: '1479.765', netFlow: '0' }, // × 1.05
];
const weekReturns = [0.1, -0.0375, 0.1, -0.05, 0.05];

describe('computePerformance on a hand-computed week with a deposit and a withdrawal', () => {
  const res = computePerformance({
    points: week,
    benchmark: [100, 105, 103, 110, 108, 112].map((close, i) => ({ time: new Date(Date.UTC(2024, 0, 1 + i)), close: String(close) })),
    trades: [{ pnl: '10' }, { pnl: '-5' }, { pnl: '20' }, { pnl: '-15' }],
  });
  const m = res.metrics;

  it('links daily returns net of flows into the TWR', () => {
    res.returns.slice(1).forEach((r, i) => expect(r).toBeCloseTo(weekReturns[i]!, 12));
    expect(m.twr).toBeCloseTo(1.1 * 0.9625 * 1.1 * 0.95 * 1.05 - 1, 12);
  });

  it('keeps money exact: start, end, flows and profit', () => {
    expect(res.startValue).toBe('1000');
    expect(res.endValue).toBe('1479.765');
    expect(res.netFlows).toBe('300');
    expect(res.profit).toBe('179.765'); // 1479.765 − 1000 − 300
    expect(m.totalReturn).toBeCloseTo(179.765 / 1500, 12); // profit / (start + deposits)
  });

  it('annualises volatility, Sharpe and Sortino with 252 days', () => {
    const mean = (0.1 - 0.0375 + 0.1 - 0.05 + 0.05) / 5;
    const variance = weekReturns.reduce((s, r) => s + (r - mean) ** 2, 0) / 4;
    const sd = Math.sqrt(variance);
    expect(m.volatility).toBeCloseTo(sd * Math.sqrt(252), 12);
    expect(m.sharpe).toBeCloseTo((mean / sd) * Math.sqrt(252), 10);
    const downside = Math.sqrt((0.0375 ** 2 + 0.05 ** 2) / 5);
    expect(m.sortino).toBeCloseTo((mean / downside) * Math.sqrt(252), 10);
  });

  it('finds the maximum drawdown on the TWR index with its peak and trough dates', () => {
    expect(m.maxDrawdown).toBeCloseTo(-0.05, 12);
    expect(m.maxDrawdownFrom).toEqual(day(3));
    expect(m.maxDrawdownTo).toEqual(day(4));
    expect(res.series.map((p) => p.drawdown)).toEqual([0, 0, expect.closeTo(-0.0375, 12), 0, expect.closeTo(-0.05, 12), expect.closeTo(0.95 * 1.05 - 1, 12)]);
    expect(res.series[5]!.twrIndex).toBeCloseTo(1.1 * 0.9625 * 1.1 * 0.95 * 1.05, 12);
  });

  it('derives CAGR over calendar days and Calmar from it', () => {
    const cagr = (1.1 * 0.9625 * 1.1 * 0.95 * 1.05) ** (365 / 5) - 1;
    expect(m.cagr! / cagr).toBeCloseTo(1, 10);
    expect(m.calmar! / (cagr / 0.05)).toBeCloseTo(1, 10);
  });

  it('solves XIRR over start value, flows and end value (investor signs)', () => {
    const flows = [
      { time: day(0), amount: -1000 },
      { time: day(2), amount: -500 },
      { time: day(4), amount: 200 },
      { time: day(5), amount: 1479.765 },
    ];
    expect(m.xirr).not.toBeNull();
    expect(Math.abs(xnpv(m.xirr!, flows))).toBeLessThan(1e-6);
  });

  it('computes beta and Jensen alpha against the benchmark closes', () => {
    const b = [105 / 100 - 1, 103 / 105 - 1, 110 / 103 - 1, 108 / 110 - 1, 112 / 108 - 1];
    const mp = weekReturns.reduce((s, x) => s + x, 0) / 5;
    const mb = b.reduce((s, x) => s + x, 0) / 5;
    const cov = weekReturns.reduce((s, x, i) => s + (x - mp) * (b[i]! - mb), 0);
    const vb = b.reduce((s, x) => s + (x - mb) ** 2, 0);
    expect(m.beta).toBeCloseTo(cov / vb, 12);
    expect(m.alpha).toBeCloseTo((mp - (cov / vb) * mb) * 252, 10);
  });

  it('reports trade statistics for backtests', () => {
    expect(m.trades).toBe(4);
    expect(m.winRate).toBe(0.5);
    expect(m.profitFactor).toBeCloseTo(1.5, 12);
    expect(m.exposure).toBeNull();
  });

  it('returns the chart series with exact values and flows', () => {
    expect(res.series.map((p) => p.value)).toEqual(['1000', '1100', '1540', '1694', '1409.3', '1479.765']);
    expect(res.series.map((p) => p.netFlow)).toEqual(['0', '0', '500', '0', '-200', '0']);
    expect(res.series[0]!.twrIndex).toBe(1);
  });
});

describe('computePerformance edge cases', () => {
  it('starts from an empty base: the first deposit is the capital, not a gain', () => {
    const r = computePerformance({
      points: [
        { time: day(0), value: '0' },
        { time: day(1), value: '1000', netFlow: '1000' },
        { time: day(2), value: '1010' },
      ],
    });
    expect(r.returns).toEqual([null, 0, expect.closeTo(0.01, 12)]);
    expect(r.metrics.twr).toBeCloseTo(0.01, 12);
    expect(r.profit).toBe('10');
    expect(r.metrics.totalReturn).toBeCloseTo(0.01, 12);
  });

  it('leaves periods with no capital out of the statistics and keeps the index flat', () => {
    const r = computePerformance({
      points: [
        { time: day(0), value: '0' },
        { time: day(1), value: '0' },
        { time: day(2), value: '100', netFlow: '100' },
        { time: day(3), value: '110' },
      ],
    });
    expect(r.returns).toEqual([null, null, 0, expect.closeTo(0.1, 12)]);
    expect(r.series.map((p) => p.twrIndex)).toEqual([1, 1, 1, expect.closeTo(1.1, 12)]);
  });

  it('gives nulls, not NaN, for a single point', () => {
    const r = computePerformance({ points: [{ time: day(0), value: '500' }] });
    expect(r.metrics).toMatchObject({ twr: null, cagr: null, volatility: null, sharpe: null, sortino: null, xirr: null, maxDrawdown: 0, calmar: null, beta: null });
    expect(r.profit).toBe('0');
  });

  it('subtracts the daily risk-free rate in Sharpe', () => {
    const pts = weekReturns.reduce<ValuePoint[]>((acc, r, i) => [...acc, { time: day(i + 1), value: String(Number(acc[i]!.value) * (1 + r)) }], [{ time: day(0), value: '1000' }]);
    const r0 = computePerformance({ points: pts });
    const r5 = computePerformance({ points: pts, riskFreeRate: 0.05 });
    const sd = r0.metrics.volatility! / Math.sqrt(252);
    expect(r0.metrics.sharpe! - r5.metrics.sharpe!).toBeCloseTo((0.05 / 252 / sd) * Math.sqrt(252), 10);
  });

  it('measures exposure from flagged points', () => {
    const r = computePerformance({
      points: [
        { time: day(0), value: '100' },
        { time: day(1), value: '101', exposed: true },
        { time: day(2), value: '101', exposed: false },
        { time: day(3), value: '102', exposed: true },
        { time: day(4), value: '102', exposed: false },
      ],
    });
    expect(r.metrics.exposure).toBe(0.5);
  });
});

/** Build a series from daily returns and deposits with the module's convention (a deposit works from the open). */
function seriesFrom(returns: number[], deposits: number[], start: number): ValuePoint[] {
  const pts: ValuePoint[] = [{ time: day(0), value: start.toFixed(10) }];
  let v = start;
  returns.forEach((r, i) => {
    v = (v + deposits[i]!) * (1 + r);
    pts.push({ time: day(i + 1), value: v.toFixed(10), netFlow: deposits[i]!.toFixed(10) });
  });
  return pts;
}

describe('metrics properties', () => {
  const returnsArb = fc.array(fc.double({ min: -0.2, max: 0.2, noNaN: true }), { minLength: 2, maxLength: 60 });

  it('TWR is unchanged by the size of external flows on flow days', () => {
    fc.assert(
      fc.property(returnsArb, fc.double({ min: 0, max: 50, noNaN: true }), fc.integer({ min: 0, max: 2 ** 30 }), (rs, scale, seed) => {
        // deposits of any size on pseudo-random days (withdrawals: next test)
        const flowsA = rs.map(() => 0);
        const flowsB = rs.map((_, i) => ((seed >> (i % 30)) & 1 ? scale * 1000 * ((i % 3) + 1) : 0));
        const a = computePerformance({ points: seriesFrom(rs, flowsA, 1000) });
        const b = computePerformance({ points: seriesFrom(rs, flowsB, 1000) });
        const expected = rs.reduce((p, r) => p * (1 + r), 1) - 1;
        expect(a.metrics.twr!).toBeCloseTo(expected, 8);
        expect(b.metrics.twr!).toBeCloseTo(expected, 8);
        expect(b.metrics.maxDrawdown).toBeCloseTo(a.metrics.maxDrawdown, 8);
      }),
      { numRuns: 200 },
    );
  });

  it('TWR is unchanged by withdrawals at the close', () => {
    fc.assert(
      fc.property(returnsArb, fc.double({ min: 0, max: 0.5, noNaN: true }), (rs, frac) => {
        const pts: ValuePoint[] = [{ time: day(0), value: '1000' }];
        let v = 1000;
        rs.forEach((r, i) => {
          const grown = v * (1 + r);
          const w = i % 2 === 0 ? grown * frac : 0;
          v = grown - w;
          pts.push({ time: day(i + 1), value: v.toFixed(10), netFlow: (-w).toFixed(10) });
        });
        const expected = rs.reduce((p, r) => p * (1 + r), 1) - 1;
        expect(computePerformance({ points: pts }).metrics.twr!).toBeCloseTo(expected, 8);
      }),
      { numRuns: 200 },
    );
  });

  it('a drawdown is never positive', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 80 }), (values) => {
        const r = computePerformance({ points: values.map((v, i) => ({ time: day(i), value: v.toFixed(6) })) });
        expect(r.metrics.maxDrawdown).toBeLessThanOrEqual(0);
        for (const p of r.series) expect(p.drawdown).toBeLessThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('downsample for charts', () => {
  it('keeps at most n points with both ends and the deepest drawdown', async () => {
    const { downsample } = await import('./metrics.js');
    const values = Array.from({ length: 500 }, (_, i) => (i === 333 ? 50 : 100 + i));
    const res = computePerformance({ points: values.map((v, i) => ({ time: day(i), value: String(v) })) });
    const d = downsample(res.series, 20);
    expect(d.length).toBeLessThanOrEqual(20);
    expect(d[0]).toBe(res.series[0]);
    expect(d[d.length - 1]).toBe(res.series[499]);
    expect(d).toContain(res.series[333]);
    expect(d).toContain(res.series[332]);
    expect(d.map((p) => p.time.getTime())).toEqual([...d.map((p) => p.time.getTime())].sort((a, b) => a - b));
    expect(downsample(res.series, 1000)).toHaveLength(500);
  });
});
