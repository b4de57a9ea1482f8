/**
 * Performance metrics over a value series: the one pure module shared by portfolio analytics and
 * backtests (DESIGN.md §13, conventions in API.md "Analytics"). No database, no clock.
 *
 * Input: points in time order, each the value at a close and the net external flow of that day
 * (deposits +, withdrawals −). `points[0]` is the base: its value is the starting value and its flow is
 * not part of the range (it happened before). Each later point gives one daily return
 *
 *     rₜ = (Vₜ − min(Fₜ, 0)) / (Vₜ₋₁ + max(Fₜ, 0)) − 1
 *
 * that is, a deposit counts from the start of its day and a withdrawal at its close, so neither divides
 * by a nearly empty base. A period whose denominator is zero (nothing invested, no deposit) has no
 * return: the TWR index stays flat and the period is left out of the statistics.
 *
 * Money (values, flows, profit) stays decimal; returns and ratios are floats, as API.md says.
 */
import { BadInputError } from '../../errors.js';
import { Decimal, ZERO, dec, fmt, type DecimalLike } from '../../lib/decimal.js';
import { xirr, type CashFlow } from './xirr.js';
import { isZero, num, text } from './decimal-like.js';
import { DAY_MS, TRADING_DAYS_PER_YEAR, alignBenchmark, dailyReturns, mean, sampleStdev, type BenchmarkClose, type ValuePoint } from './returns.js';

export { xirr, xnpv, type CashFlow, type XirrResult, type XirrFailure } from './xirr.js';

/** A closed trade, for winRate / profitFactor / trades (backtests). */
export interface ClosedTrade {
  pnl: DecimalLike;
}

export interface MetricsInput {
  points: readonly ValuePoint[];
  /** annual risk-free rate as a fraction (0.05 = 5 %); default 0 */
  riskFreeRate?: number;
  benchmark?: readonly BenchmarkClose[];
  trades?: readonly ClosedTrade[];
}

/** The PerformanceMetrics fields of API.md; null where a metric is undefined for the data. */
export interface PerformanceMetrics {
  totalReturn: number;
  twr: number | null;
  xirr: number | null;
  cagr: number | null;
  volatility: number | null;
  sharpe: number | null;
  sortino: number | null;
  maxDrawdown: number;
  maxDrawdownFrom: Date | null;
  maxDrawdownTo: Date | null;
  calmar: number | null;
  beta: number | null;
  alpha: number | null;
  winRate: number | null;
  profitFactor: number | null;
  trades: number | null;
  exposure: number | null;
}

/** One chart point (API.md EquityPoint); decimals as exact text. */
export interface SeriesPoint {
  time: Date;
  value: string;
  netFlow: string;
  twrIndex: number;
  drawdown: number;
}

export interface PerformanceResult {
  from: Date;
  to: Date;
  startValue: string;
  endValue: string;
  /** sum of external flows after the base */
  netFlows: string;
  /** endValue − startValue − netFlows */
  profit: string;
  metrics: PerformanceMetrics;
  series: SeriesPoint[];
  /** the daily returns used (null where a period had no capital) */
  returns: (number | null)[];
  /** the benchmark's own return over the series (first aligned close to the last); null without one */
  benchmarkReturn: number | null;
}

/** Compute the metrics and chart series of a value series. Throws only on an empty series. */
export function computePerformance(input: MetricsInput): PerformanceResult {
  const { points } = input;
  if (points.length === 0) throw new Error('computePerformance needs at least one point');
  const rf = input.riskFreeRate ?? 0;
  const rfDaily = rf / TRADING_DAYS_PER_YEAR;
  const returns = dailyReturns(points);

  // TWR index and drawdown (numbers here; the chart series is formatted only if someone reads it)
  const n = points.length;
  const twrIndex = new Float64Array(n);
  const drawdown = new Float64Array(n);
  let index = 1;
  let peak = 1;
  let peakAt = 0;
  let maxDd = 0;
  let ddFrom = -1;
  let ddTo = -1;
  for (let i = 0; i < n; i++) {
    const r = returns[i];
    if (r !== null && r !== undefined) index *= 1 + r;
    if (index > peak) {
      peak = index;
      peakAt = i;
    }
    const dd = peak > 0 ? index / peak - 1 : 0;
    if (dd < maxDd) {
      maxDd = dd;
      ddFrom = peakAt;
      ddTo = i;
    }
    twrIndex[i] = index;
    drawdown[i] = Math.min(dd, 0);
  }
  let series: SeriesPoint[] | undefined;
  const buildSeries = (): SeriesPoint[] =>
    (series ??= points.map((p, i) => ({
      time: p.time,
      value: text(p.value),
      netFlow: i === 0 || isZero(p.netFlow) ? '0' : text(p.netFlow!),
      twrIndex: twrIndex[i]!,
      drawdown: drawdown[i]!,
    })));

  // money
  const start = dec(points[0]!.value);
  const end = dec(points[points.length - 1]!.value);
  let netFlows: Decimal = ZERO;
  let inflows: Decimal = ZERO;
  for (let i = 1; i < points.length; i++) {
    const f = points[i]!.netFlow;
    if (isZero(f)) continue;
    const d = dec(f!);
    netFlows = netFlows.add(d);
    if (d.gt(0)) inflows = inflows.add(d);
  }
  const profit = end.sub(start).sub(netFlows);
  const invested = start.add(inflows);
  const totalReturn = invested.gt(0) ? profit.div(invested).toNumber() : 0;

  // statistics over the periods that had capital
  const rs = returns.filter((r): r is number => r !== null);
  const twr = rs.length > 0 ? index - 1 : null;
  const from = points[0]!.time;
  const to = points[points.length - 1]!.time;
  const days = (to.getTime() - from.getTime()) / DAY_MS;
  const cagr = twr !== null && days > 0 && index > 0 ? index ** (365 / days) - 1 : null;
  const sd = sampleStdev(rs);
  const volatility = sd === null ? null : sd * Math.sqrt(TRADING_DAYS_PER_YEAR);
  const excessMean = rs.length > 0 ? mean(rs) - rfDaily : 0;
  const sharpe = sd && sd > 0 ? (excessMean / sd) * Math.sqrt(TRADING_DAYS_PER_YEAR) : null;
  const downside = rs.length > 0 ? Math.sqrt(mean(rs.map((r) => Math.min(r, 0) ** 2))) : 0;
  const sortino = rs.length > 1 && downside > 0 ? (excessMean / downside) * Math.sqrt(TRADING_DAYS_PER_YEAR) : null;
  const calmar = cagr !== null && maxDd < 0 ? cagr / Math.abs(maxDd) : null;

  // XIRR: the start value in, flows (investor's sign), the end value out
  const flows: CashFlow[] = [];
  if (!start.isZero()) flows.push({ time: from, amount: start.neg().toNumber() });
  for (let i = 1; i < points.length; i++) {
    const f = points[i]!.netFlow;
    if (!isZero(f)) flows.push({ time: points[i]!.time, amount: -num(f!) });
  }
  flows.push({ time: to, amount: end.toNumber() });
  const x = xirr(flows);

  // beta / alpha against the benchmark (pairs where both returns exist)
  let beta: number | null = null;
  let alpha: number | null = null;
  let benchmarkReturn: number | null = null;
  if (input.benchmark && input.benchmark.length > 0) {
    const closes = alignBenchmark(points, input.benchmark);
    const firstClose = closes.find((c) => c !== null && c > 0);
    const lastClose = closes[closes.length - 1];
    if (firstClose && lastClose !== null && lastClose !== undefined) benchmarkReturn = lastClose / firstClose - 1;
    const pr: number[] = [];
    const br: number[] = [];
    for (let i = 1; i < points.length; i++) {
      const r = returns[i];
      const b0 = closes[i - 1];
      const b1 = closes[i];
      if (r === null || r === undefined || b0 === null || b0 === undefined || b1 === null || b1 === undefined || b0 <= 0) continue;
      pr.push(r);
      br.push(b1 / b0 - 1);
    }
    if (pr.length >= 2) {
      const mp = mean(pr);
      const mb = mean(br);
      let cov = 0;
      let varB = 0;
      for (let i = 0; i < pr.length; i++) {
        cov += (pr[i]! - mp) * (br[i]! - mb);
        varB += (br[i]! - mb) ** 2;
      }
      if (varB > 0) {
        beta = cov / varB;
        alpha = (mp - rfDaily - beta * (mb - rfDaily)) * TRADING_DAYS_PER_YEAR;
      }
    }
  }

  // trades and exposure (backtests)
  let winRate: number | null = null;
  let profitFactor: number | null = null;
  let trades: number | null = null;
  if (input.trades) {
    trades = input.trades.length;
    let wins = 0;
    let gains: Decimal = ZERO;
    let losses: Decimal = ZERO;
    for (const t of input.trades) {
      const p = dec(t.pnl);
      if (p.gt(0)) {
        wins++;
        gains = gains.add(p);
      } else if (p.lt(0)) losses = losses.add(p.neg());
    }
    winRate = trades > 0 ? wins / trades : null;
    profitFactor = losses.gt(0) ? gains.div(losses).toNumber() : null;
  }
  const flagged = points.slice(1).filter((p) => p.exposed !== undefined);
  const exposure = flagged.length > 0 ? flagged.filter((p) => p.exposed).length / flagged.length : null;

  return {
    from,
    to,
    startValue: fmt(start),
    endValue: fmt(end),
    netFlows: fmt(netFlows),
    profit: fmt(profit),
    metrics: {
      totalReturn,
      twr,
      xirr: x.ok ? x.rate : null,
      cagr,
      volatility,
      sharpe,
      sortino,
      maxDrawdown: maxDd,
      maxDrawdownFrom: ddFrom >= 0 ? points[ddFrom]!.time : null,
      maxDrawdownTo: ddTo >= 0 ? points[ddTo]!.time : null,
      calmar,
      beta,
      alpha,
      winRate,
      profitFactor,
      trades,
      exposure,
    },
    // Built on first read: a metrics-only answer never formats 2,600 points.
    get series() {
      return buildSeries();
    },
    returns,
    benchmarkReturn,
  };
}

/** Most points a chart series (`series(points)`, `equityCurve(points)`) may ask for. */
export const MAX_CHART_POINTS = 2000;

/** A chart's `points` argument: a whole number from 1 to MAX_CHART_POINTS, else BAD_USER_INPUT OUT_OF_RANGE. */
export function checkChartPoints(points: number): number {
  if (!Number.isInteger(points) || points < 1 || points > MAX_CHART_POINTS) throw new BadInputError(`points must be between 1 and ${MAX_CHART_POINTS}`, 'points', 'OUT_OF_RANGE');
  return points;
}

/**
 * At most `max` points of a series for a chart: evenly spaced, always keeping the first and last points
 * and the deepest drawdown's trough (and the peak before it). Order is kept. One point is the last.
 */
export function downsample<T extends { drawdown: number; twrIndex: number }>(series: readonly T[], max: number): T[] {
  if (max <= 0 || series.length <= max) return [...series];
  if (max === 1) return [series[series.length - 1]!];
  const n = Math.max(max, 2);
  const keep = new Set<number>([0, series.length - 1]);
  let trough = 0;
  for (let i = 1; i < series.length; i++) if (series[i]!.drawdown < series[trough]!.drawdown) trough = i;
  if (series[trough]!.drawdown < 0) {
    if (keep.size < n) keep.add(trough);
    let peak = 0;
    for (let i = 0; i <= trough; i++) if (series[i]!.twrIndex >= series[peak]!.twrIndex) peak = i;
    if (keep.size < n) keep.add(peak);
  }
  const slots = n - keep.size;
  for (let k = 1; k <= slots; k++) keep.add(Math.round((k * (series.length - 1)) / (slots + 1)));
  return [...keep].sort((a, b) => a - b).map((i) => series[i]!);
}
