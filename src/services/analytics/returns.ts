/**
 * Daily returns of a value series, and the statistics taken over them: pure (used by metrics.ts, whose
 * header states the conventions). The flow convention, for the value Vₜ and net external flow Fₜ of a day:
 *
 *     rₜ = (Vₜ − min(Fₜ, 0)) / (Vₜ₋₁ + max(Fₜ, 0)) − 1
 *
 * a deposit counting from the start of its day and a withdrawal at its close; a period whose
 * denominator is zero has no return (null).
 */
import type { DecimalLike } from '../../lib/decimal.js';
import { num } from './decimal-like.js';

export const TRADING_DAYS_PER_YEAR = 252;
export const DAY_MS = 86_400_000;

/** One close of the series. */
export interface ValuePoint {
  time: Date;
  /** value at the close (cash + positions), decimal */
  value: DecimalLike;
  /** net external flow of that day: deposits positive, withdrawals negative (0 if none) */
  netFlow?: DecimalLike;
  /** whether anything but cash was held over the period ending here (for `exposure`; backtests) */
  exposed?: boolean;
}

/** A benchmark close; aligned to the series by UTC calendar day, carrying the last close forward. */
export interface BenchmarkClose {
  time: Date;
  close: DecimalLike;
}

/** UTC calendar day key of a time (days since the epoch). */
export function dayKey(t: Date): number {
  return Math.floor(t.getTime() / DAY_MS);
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1); null with fewer than two values. */
export function sampleStdev(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

/** Daily returns of the series with the flow convention above; index i is the period ending at points[i] (i ≥ 1). */
export function dailyReturns(points: readonly ValuePoint[]): (number | null)[] {
  const out: (number | null)[] = [null];
  let prev = points.length > 0 ? num(points[0]!.value) : 0;
  for (let i = 1; i < points.length; i++) {
    const v = num(points[i]!.value);
    const flow = points[i]!.netFlow;
    const f = flow === undefined || flow === '0' ? 0 : num(flow);
    const den = prev + Math.max(f, 0);
    const nom = v - Math.min(f, 0);
    out.push(den > 0 ? nom / den - 1 : null);
    prev = v;
  }
  return out;
}

/** Align benchmark closes to the points (last close on or before each point's day); null before the first close. */
export function alignBenchmark(points: readonly ValuePoint[], bench: readonly BenchmarkClose[]): (number | null)[] {
  const sorted = [...bench].sort((a, b) => a.time.getTime() - b.time.getTime());
  const out: (number | null)[] = [];
  let j = 0;
  let last: number | null = null;
  for (const p of points) {
    const k = dayKey(p.time);
    while (j < sorted.length && dayKey(sorted[j]!.time) <= k) last = num(sorted[j++]!.close);
    out.push(last);
  }
  return out;
}
