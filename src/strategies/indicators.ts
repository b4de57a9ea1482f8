import { MACD, VWAP } from 'technicalindicators';
import { Decimal, dec } from '../lib/decimal.js';

/**
 * Technical indicators over candles, for strategies and screeners. technicalindicators computes in
 * floating point, which is fine for a signal (an indicator is an estimate, not money); every value that
 * leaves this module is a decimal string rounded to `scale` places, so callers never hold a float.
 */
export interface CandleInput {
  high: string;
  low: string;
  close: string;
  volume: string;
}

export interface MacdPoint {
  macd: string;
  signal: string;
  histogram: string;
}

const toNumber = (s: string): number => dec(s).toNumber();
const out = (n: number, scale: number): string => new Decimal(n).toDecimalPlaces(scale).toFixed();

/** MACD (default 12/26/9 on closes); one point per candle once the slow EMA and the signal are warm. */
export function macd(candles: CandleInput[], opts: { fast?: number; slow?: number; signal?: number; scale?: number } = {}): MacdPoint[] {
  const scale = opts.scale ?? 4;
  const points = MACD.calculate({
    values: candles.map((c) => toNumber(c.close)),
    fastPeriod: opts.fast ?? 12,
    slowPeriod: opts.slow ?? 26,
    signalPeriod: opts.signal ?? 9,
    SimpleMAOscillator: false,
    SimpleMASignal: false,
  });
  // The library reports a signal of exactly 0 as undefined (a falsy check); histogram = macd − signal.
  return points
    .filter((p) => p.MACD !== undefined && p.histogram !== undefined)
    .map((p) => ({ macd: out(p.MACD!, scale), signal: out(p.signal ?? p.MACD! - p.histogram!, scale), histogram: out(p.histogram!, scale) }));
}

/** Cumulative VWAP: typical price ((high + low + close) / 3) weighted by volume, one value per candle. */
export function vwap(candles: CandleInput[], opts: { scale?: number } = {}): string[] {
  const scale = opts.scale ?? 4;
  return VWAP.calculate({
    high: candles.map((c) => toNumber(c.high)),
    low: candles.map((c) => toNumber(c.low)),
    close: candles.map((c) => toNumber(c.close)),
    volume: candles.map((c) => toNumber(c.volume)),
  }).map((v) => out(v, scale));
}
