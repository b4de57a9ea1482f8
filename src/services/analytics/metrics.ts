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
import { Decimal, ZERO, dec, fmt, type DecimalLike } from '../../lib/decimal.js';
import { xirr, type CashFlow } from './xirr.js';

export { xirr, xnpv, type CashFlow, type XirrResult, type XirrFailure } from './xirr.js';

export const TRADING_DAYS_PER_YEAR = 252;
const DAY_MS = 86_400_000;

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

/** A closed trade, for winRate / profitFactor / trades (backtests). */
export interface ClosedTrade {
  pnl: DecimalLike;
}

/** A benchmark close; aligned to the series by UTC calendar day, carrying the last close forward. */
export interface BenchmarkClose {
  time: Date;
  close: DecimalLike;
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

/** Exact decimal text without trailing zeros (fast path for plain strings; Decimal otherwise). */
function text(v: DecimalLike): string {
  if (typeof v === 'string') {
    const plain = plainText(v);
    if (plain !== null) return plain;
  }
  return fmt(v);
}

/**
 * `[-]digits[.digits]` without trailing fractional zeros or leading integer zeros, by one scan of the
 * characters (called for every point of a 10-year series: no regular expressions); null when `v` is not
 * plain decimal text.
 */
function plainText(v: string): string | null {
  const n = v.length;
  let i = v.charCodeAt(0) === 45 ? 1 : 0; // '-'
  const start = i;
  let dot = -1;
  for (let k = i; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c === 46) {
      if (dot >= 0) return null;
      dot = k;
    } else if (c < 48 || c > 57) return null;
  }
  if (n === start || dot === start || dot === n - 1) return null;
  let end = n;
  if (dot >= 0) {
    while (v.charCodeAt(end - 1) === 48) end--;
    if (end - 1 === dot) end = dot;
  }
  while (i < (dot >= 0 ? dot : end) - 1 && v.charCodeAt(i) === 48) i++;
  const body = v.slice(i, end);
  if (body === '0') return '0';
  return start === 1 ? `-${body}` : i === 0 && end === n ? v : body;
}

function isZero(v: DecimalLike | undefined): boolean {
  if (v === undefined || v === 0) return true;
  if (typeof v === 'string') {
    // `-?0*(\.0*)?`, not '' or '-', by one scan (a numeric column's zero comes as "0.0000").
    const from = v.charCodeAt(0) === 45 ? 1 : 0;
    if (v.length === from) return false;
    let dots = 0;
    for (let k = from; k < v.length; k++) {
      const c = v.charCodeAt(k);
      if (c === 46) {
        if (++dots > 1) return false;
      } else if (c !== 48) return false;
    }
    return true;
  }
  return dec(v).isZero();
}

function num(v: DecimalLike): number {
  return typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number(v.toString());
}

/** UTC calendar day key of a time (days since the epoch). */
export function dayKey(t: Date): number {
  return Math.floor(t.getTime() / DAY_MS);
}

function mean(xs: readonly number[]): number {
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
function alignBenchmark(points: readonly ValuePoint[], bench: readonly BenchmarkClose[]): (number | null)[] {
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

/**
 * At most `max` points of a series for a chart: evenly spaced, always keeping the first and last points
 * and the deepest drawdown's trough (and the peak before it). Order is kept.
 */
export function downsample<T extends { drawdown: number; twrIndex: number }>(series: readonly T[], max: number): T[] {
  if (max <= 0 || series.length <= max) return [...series];
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
