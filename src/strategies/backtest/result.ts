import { computePerformance, type PerformanceMetrics } from '../../services/analytics/metrics.js';
import type { EngineResult, EngineTrade } from './engine.js';

/** A stored equity point (JSON): time ISO, value decimal text, TWR index and drawdown. */
export interface StoredPoint {
  t: string;
  value: string;
  twrIndex: number;
  drawdown: number;
}

export interface StoredResult {
  metrics: Omit<PerformanceMetrics, 'maxDrawdownFrom' | 'maxDrawdownTo'> & { maxDrawdownFrom: string | null; maxDrawdownTo: string | null };
  equity: StoredPoint[];
  trades: (Omit<EngineTrade, 'entryTime' | 'exitTime'> & { entryTime: string; exitTime: string | null })[];
}

/** Most equity points stored per backtest; `equityCurve(points)` downsamples further on read. */
export const STORED_POINTS = 2000;

/**
 * Metrics of a backtest through the shared analytics module (API.md "Analytics" conventions): the daily
 * closes of the replay are the value series, closed trades feed win rate and profit factor, and the
 * `exposed` flag of each close feeds exposure.
 */
export function summarize(r: EngineResult, initialCash: string): StoredResult {
  const points = [{ time: new Date(r.daily[0] ? r.daily[0].time - 86_400_000 : 0), value: initialCash, exposed: false }, ...r.daily.map((p) => ({ time: new Date(p.time), value: p.value, exposed: p.exposed }))];
  const closed = r.trades.filter((t) => t.pnl !== null).map((t) => ({ pnl: t.pnl! }));
  const perf = computePerformance({ points, trades: closed });
  const m = perf.metrics;
  return {
    metrics: { ...m, maxDrawdownFrom: m.maxDrawdownFrom?.toISOString() ?? null, maxDrawdownTo: m.maxDrawdownTo?.toISOString() ?? null },
    equity: downsample(
      perf.series.map((p) => ({ t: p.time.toISOString(), value: p.value, twrIndex: p.twrIndex, drawdown: p.drawdown })),
      STORED_POINTS,
    ),
    trades: r.trades.map((t) => ({ ...t, entryTime: new Date(t.entryTime).toISOString(), exitTime: t.exitTime === null ? null : new Date(t.exitTime).toISOString() })),
  };
}

/** At most `n` points, evenly spaced by index, always keeping the first and the last. */
export function downsample<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  if (n <= 1) return [xs[xs.length - 1]!];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.round((i * (xs.length - 1)) / (n - 1))]!);
  return out;
}
