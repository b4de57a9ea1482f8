import { describe, expect, it } from 'vitest';
import { ATR, BollingerBands, EMA, MACD, RSI, SMA, SD } from 'technicalindicators';
import { Atr, Bollinger, Ema, Macd, Returns, Rsi, Sma, StdDev, Vwap, runBars, runSeries } from './incremental.js';
import { generateHistory, type Bar } from '../../market/history.js';

const bars: Bar[] = generateHistory(
  { symbol: 'T', exchange: 'NSE', tickSize: '0.05', lotSize: '1', referencePrice: '1000', volatility: '0.3' },
  { seed: 7, now: new Date('2026-01-10T00:00:00Z'), dailyDays: 400, minuteDays: 0 },
).bars['1d'];
const closes = bars.map((b) => b.close);

/** The library's output is shorter than its input: align it to the end, nulls in front. */
const align = (lib: number[], n: number) => [...new Array<null>(n - lib.length).fill(null), ...lib];
const close = (a: (number | null)[], b: (number | null)[], eps: number) => {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    if (x === null || b[i] === null) expect([i, x]).toEqual([i, b[i]]);
    else expect(Math.abs(x - b[i]!)).toBeLessThanOrEqual(eps);
  });
};

describe('indicators agree with technicalindicators on 280 daily bars', () => {
  it('SMA(20) and EMA(12), EMA seeded with the SMA of its first 12 values', () => {
    close(runSeries(new Sma(20), closes), align(SMA.calculate({ period: 20, values: closes }), closes.length), 1e-9);
    close(runSeries(new Ema(12), closes), align(EMA.calculate({ period: 12, values: closes }), closes.length), 1e-9);
  });
  it("RSI(14) is Wilder's (the library rounds to 2 places)", () => {
    close(runSeries(new Rsi(14), closes), align(RSI.calculate({ period: 14, values: closes }), closes.length), 0.006);
  });
  it('MACD line, signal and histogram (12, 26, 9, exponential averages)', () => {
    const lib = MACD.calculate({ values: closes, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false });
    const line = align(lib.map((p) => p.MACD!), closes.length);
    const signal = align(lib.filter((p) => p.signal !== undefined).map((p) => p.signal!), closes.length);
    close(runSeries(new Macd(12, 26, 9, 'line'), closes), line, 1e-9);
    close(runSeries(new Macd(12, 26, 9, 'signal'), closes), signal, 1e-9);
    const hist = runSeries(new Macd(12, 26, 9, 'hist'), closes);
    hist.forEach((h, i) => (h === null ? expect(signal[i]).toBeNull() : expect(h).toBeCloseTo(line[i]! - signal[i]!, 9)));
  });
  it('Bollinger(20, 2) with the population deviation, and stddev', () => {
    const lib = BollingerBands.calculate({ period: 20, stdDev: 2, values: closes });
    close(runSeries(new Bollinger(20, 2, 'upper'), closes), align(lib.map((b) => b.upper), closes.length), 1e-9);
    close(runSeries(new Bollinger(20, 2, 'lower'), closes), align(lib.map((b) => b.lower), closes.length), 1e-9);
    close(runSeries(new StdDev(20), closes), align(SD.calculate({ period: 20, values: closes }), closes.length), 1e-9);
  });
  it("ATR(14) is Wilder's over true ranges from the second bar", () => {
    const lib = ATR.calculate({ period: 14, high: bars.map((b) => b.high), low: bars.map((b) => b.low), close: closes });
    close(runBars(new Atr(14), bars), align(lib, bars.length), 1e-9);
  });
});

describe('indicators against hand-computed values', () => {
  it('SMA(3) of 1..5 is null, null, 2, 3, 4', () => {
    expect(runSeries(new Sma(3), [1, 2, 3, 4, 5])).toEqual([null, null, 2, 3, 4]);
  });
  it('EMA(3) of 2,4,6,8: seed 4, then (8−4)·0.5+4 = 6', () => {
    expect(runSeries(new Ema(3), [2, 4, 6, 8])).toEqual([null, null, 4, 6]);
  });
  it('RSI(2) of 1,2,1,2: gains 1,0 losses 0,1 → 50, then Wilder (0.5·1+1)/2=0.75 vs 0.25 → 75', () => {
    expect(runSeries(new Rsi(2), [1, 2, 1, 2])).toEqual([null, null, 50, 75]);
  });
  it('RSI of a rising series is 100; of a flat one 50', () => {
    expect(runSeries(new Rsi(2), [1, 2, 3]).at(-1)).toBe(100);
    expect(runSeries(new Rsi(2), [1, 1, 1]).at(-1)).toBe(50);
  });
  it('returns(2) of 100, 110, 121 is 0.21; stddev(2) of 1,3 is 1 (population)', () => {
    expect(runSeries(new Returns(2), [100, 110, 121])[2]).toBeCloseTo(0.21, 12);
    expect(runSeries(new StdDev(2), [1, 3])).toEqual([null, 1]);
  });
  it('VWAP is anchored to the session: it restarts at the next UTC day', () => {
    const day = Date.UTC(2026, 0, 5, 4);
    const b = (t: number, p: number, v: number): Bar => ({ time: t, open: p, high: p, low: p, close: p, volume: v });
    expect(runBars(new Vwap(), [b(day, 10, 100), b(day + 60_000, 13, 200), b(day + 86_400_000, 20, 5)])).toEqual([10, 12, 20]);
  });
  it('a null input during warm-up is skipped; inner warm-up delays the outer one', () => {
    expect(runSeries(new Sma(2), [null, null, 1, 3, 5])).toEqual([null, null, null, 2, 4]);
  });
});
