import type { Bar } from '../../market/history.js';
import { Returns, StdDev } from '../../strategies/indicators/incremental.js';
import type { CompiledRule } from '../../strategies/rules/evaluator.js';

/** A screener hit: the instrument, its score (higher is stronger) and the figures behind it. */
export interface Match {
  instrumentId: string;
  score: number | null;
  values: Record<string, number | string | null>;
}

/** TOP_GAINERS: the return over the last `period` bars; the highest first. */
export function gain(bars: readonly Bar[], period: number): number | null {
  if (bars.length <= period) return null;
  const last = bars[bars.length - 1]!.close;
  const base = bars[bars.length - 1 - period]!.close;
  return base === 0 ? null : last / base - 1;
}

/**
 * STD_FILTER: how unusual the latest `period`-bar return is against the spread of one-bar returns over
 * `lookback` bars: z = R / (σ₁ · √period), σ₁ the population deviation of one-bar returns.
 */
export function zScore(bars: readonly Bar[], period: number, lookback: number): { ret: number; std: number; z: number } | null {
  if (bars.length < Math.max(period, lookback) + 2) return null;
  const r1 = new Returns(1);
  const sd = new StdDev(lookback);
  let std: number | null = null;
  for (const b of bars) std = sd.next(r1.next(b.close));
  const ret = gain(bars, period);
  if (std === null || ret === null || std === 0) return null;
  return { ret, std, z: ret / (std * Math.sqrt(period)) };
}

/** RULES: whether the condition holds on the last bar (the rule replayed over the bars given). */
export function ruleHolds(rule: CompiledRule, bars: readonly Bar[]): boolean {
  const ev = rule.create();
  let v: number | null = null;
  for (const b of bars) v = ev.next(b);
  return v !== null && v !== 0;
}

/** EARNINGS: beats in the last `quarters` reports and the average surprise ((actual − estimate) / |estimate|). */
export function earningsRecord(reports: readonly { epsEstimate: number | null; epsActual: number | null }[], quarters: number): { beats: number; reports: number; surprise: number | null; classification: string } {
  const recent = reports.filter((r) => r.epsActual !== null && r.epsEstimate !== null).slice(-quarters);
  let beats = 0;
  let sum = 0;
  let n = 0;
  for (const r of recent) {
    if (r.epsActual! > r.epsEstimate!) beats++;
    if (r.epsEstimate !== 0) {
      sum += (r.epsActual! - r.epsEstimate!) / Math.abs(r.epsEstimate!);
      n++;
    }
  }
  const classification = recent.length === 0 ? 'NO_HISTORY' : beats === recent.length ? 'CONSISTENT_BEATER' : beats * 2 > recent.length ? 'MOSTLY_BEATS' : beats === 0 ? 'CONSISTENT_MISSER' : 'MIXED';
  return { beats, reports: recent.length, surprise: n ? sum / n : null, classification };
}
