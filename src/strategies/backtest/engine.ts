import type { Bar } from '../../market/history.js';
import { Decimal, dec, fmt, ZERO } from '../../lib/decimal.js';
import type { RuleSet, SignalAction } from '../definition.js';
import { SymbolEngine } from '../signal-engine.js';
import { entryQuantity, type Sizing } from '../sizing.js';

export interface BacktestSeries {
  symbol: string;
  instrumentId: string;
  lot: string;
  /** Bars before `from`, replayed only to warm the indicators. */
  warmup: readonly Bar[];
  /** Bars the backtest trades on, oldest first. */
  bars: readonly Bar[];
}

export interface BacktestParams {
  rules: RuleSet;
  sizing: Sizing;
  initialCash: string;
  /** Fee as a fraction of notional per fill (0.001 = 10 bps). */
  feeRate: string;
  slippageBps: number;
}

export interface EngineSignal {
  instrumentId: string;
  symbol: string;
  action: SignalAction;
  time: number;
  price: number;
}

export interface EngineTrade {
  instrumentId: string;
  symbol: string;
  side: 'LONG' | 'SHORT';
  quantity: string;
  entryTime: number;
  entryPrice: string;
  exitTime: number | null;
  exitPrice: string | null;
  pnl: string | null;
  returnPct: number | null;
}

/** Equity at the close of a bar time (all instruments marked at their latest close). */
export interface EnginePoint {
  time: number;
  value: number;
  /** Whether a position was open at this close. */
  exposed: boolean;
}

export interface EngineResult {
  signals: EngineSignal[];
  trades: EngineTrade[];
  /** One point per UTC day (the last bar time of the day) plus the first bar: what metrics use. */
  daily: EnginePoint[];
  finalCash: string;
  finalValue: string;
  barsProcessed: number;
  /** Fraction of daily points with a position open. */
  exposure: number;
}

export interface EngineHooks {
  /** Called every `chunk` bars; resolve to carry on. Returning true cancels. */
  onChunk?: (barsProcessed: number) => Promise<boolean | void>;
  chunk?: number;
}

interface Book {
  qty: Decimal;
  side: 'LONG' | 'SHORT';
  entryTime: number;
  entryPrice: Decimal;
  entryFee: Decimal;
  lastClose: number;
}

const DAY = 86_400_000;

/**
 * Replays bars through the strategy's engines with a simple fill model: a signal on a bar's close fills at
 * that close moved against us by `slippageBps`, paying `feeRate` of the notional. Cash and trade P&L are
 * exact decimals; the equity curve marks positions at closes in floating point (it feeds ratios, not money).
 * Deterministic: the same input gives the same signals, trades and curve. Bars of several instruments are
 * merged by time (ties in the order of `series`).
 */
export async function runEngine(series: readonly BacktestSeries[], p: BacktestParams, hooks: EngineHooks = {}): Promise<EngineResult | null> {
  const engines = series.map((s) => {
    const e = new SymbolEngine(p.rules);
    for (const b of s.warmup) e.warm(b);
    return e;
  });
  const books: (Book | undefined)[] = series.map(() => undefined);
  const lots = series.map((s) => dec(s.lot));
  let cash = dec(p.initialCash);
  const feeRate = dec(p.feeRate);
  const slip = p.slippageBps / 10_000;
  const signals: EngineSignal[] = [];
  const trades: EngineTrade[] = [];
  const daily: EnginePoint[] = [];
  // Float mirror of the book for the per-bar equity mark: cash as a number plus Σ signed qty × close.
  let cashF = cash.toNumber();
  const qtyF = new Float64Array(series.length);
  const closeF = new Float64Array(series.length);
  let openBooks = 0;
  let exposed = 0;

  const order = mergeOrder(series);
  const total = order.length;
  const chunk = hooks.chunk ?? 50_000;
  let lastDay = -1;
  let lastTime = NaN;

  const fill = (i: number, action: SignalAction, bar: Bar) => {
    const s = series[i]!;
    const buying = action === 'ENTER_LONG' || action === 'EXIT_SHORT';
    const px = new Decimal(bar.close * (buying ? 1 + slip : 1 - slip)).toDecimalPlaces(8);
    signals.push({ instrumentId: s.instrumentId, symbol: s.symbol, action, time: bar.time, price: bar.close });
    if (action === 'ENTER_LONG' || action === 'ENTER_SHORT') {
      const equity = dec(cashF + sumMarks(qtyF, closeF)).toDecimalPlaces(8);
      const q = entryQuantity(p.sizing, px, equity.gt(0) ? equity : ZERO, lots[i]!);
      if (q.isZero()) return;
      const fee = px.mul(q).mul(feeRate);
      cash = action === 'ENTER_LONG' ? cash.minus(px.mul(q)).minus(fee) : cash.plus(px.mul(q)).minus(fee);
      books[i] = { qty: q, side: action === 'ENTER_LONG' ? 'LONG' : 'SHORT', entryTime: bar.time, entryPrice: px, entryFee: fee, lastClose: bar.close };
      qtyF[i] = action === 'ENTER_LONG' ? q.toNumber() : -q.toNumber();
      openBooks++;
    } else {
      const b = books[i];
      if (!b) return;
      const fee = px.mul(b.qty).mul(feeRate);
      const gross = b.side === 'LONG' ? px.minus(b.entryPrice).mul(b.qty) : b.entryPrice.minus(px).mul(b.qty);
      const pnl = gross.minus(fee).minus(b.entryFee);
      cash = b.side === 'LONG' ? cash.plus(px.mul(b.qty)).minus(fee) : cash.minus(px.mul(b.qty)).minus(fee);
      trades.push({
        instrumentId: s.instrumentId,
        symbol: s.symbol,
        side: b.side,
        quantity: fmt(b.qty),
        entryTime: b.entryTime,
        entryPrice: fmt(b.entryPrice),
        exitTime: bar.time,
        exitPrice: fmt(px),
        pnl: fmt(pnl.toDecimalPlaces(8)),
        returnPct: pnl.div(b.entryPrice.mul(b.qty)).toNumber(),
      });
      books[i] = undefined;
      qtyF[i] = 0;
      openBooks--;
    }
    cashF = cash.toNumber();
  };

  for (let k = 0; k < total; k++) {
    const i = order.symbol[k]!;
    const bar = series[i]!.bars[order.index[k]!]!;
    // Close the previous bar time's day before this bar moves the marks.
    const day = Math.floor(bar.time / DAY);
    if (day !== lastDay && !Number.isNaN(lastTime)) {
      daily.push({ time: lastTime, value: cashF + sumMarks(qtyF, closeF), exposed: openBooks > 0 });
      if (openBooks > 0) exposed++;
    }
    lastDay = day;
    lastTime = bar.time;
    closeF[i] = bar.close;
    const acts = engines[i]!.next(bar);
    for (let a = 0; a < acts.length; a++) fill(i, acts[a]!, bar);
    if (hooks.onChunk && (k + 1) % chunk === 0 && (await hooks.onChunk(k + 1)) === true) return null;
  }
  if (!Number.isNaN(lastTime)) {
    daily.push({ time: lastTime, value: cashF + sumMarks(qtyF, closeF), exposed: openBooks > 0 });
    if (openBooks > 0) exposed++;
  }
  // Positions still open are reported as open trades, valued at the last close.
  let value = cash;
  books.forEach((b, i) => {
    if (!b) return;
    const mark = new Decimal(closeF[i]!);
    value = b.side === 'LONG' ? value.plus(mark.mul(b.qty)) : value.minus(mark.mul(b.qty));
    trades.push({
      instrumentId: series[i]!.instrumentId,
      symbol: series[i]!.symbol,
      side: b.side,
      quantity: fmt(b.qty),
      entryTime: b.entryTime,
      entryPrice: fmt(b.entryPrice),
      exitTime: null,
      exitPrice: null,
      pnl: null,
      returnPct: null,
    });
  });
  await hooks.onChunk?.(total);
  return {
    signals,
    trades,
    daily,
    finalCash: fmt(cash.toDecimalPlaces(8)),
    finalValue: fmt(value.toDecimalPlaces(8)),
    barsProcessed: total,
    exposure: daily.length ? exposed / daily.length : 0,
  };
}

function sumMarks(q: Float64Array, c: Float64Array): number {
  let s = 0;
  for (let i = 0; i < q.length; i++) if (q[i] !== 0) s += q[i]! * c[i]!;
  return s;
}

/** The bars of all series in time order, as parallel arrays of (series, index). */
function mergeOrder(series: readonly BacktestSeries[]): { symbol: Uint32Array; index: Uint32Array; length: number } {
  const total = series.reduce((n, s) => n + s.bars.length, 0);
  const symbol = new Uint32Array(total);
  const index = new Uint32Array(total);
  if (series.length === 1) {
    for (let k = 0; k < total; k++) index[k] = k;
    return { symbol, index, length: total };
  }
  const pos = new Uint32Array(series.length);
  for (let k = 0; k < total; k++) {
    let best = -1;
    let bestT = Infinity;
    for (let i = 0; i < series.length; i++) {
      const b = series[i]!.bars[pos[i]!];
      if (b && b.time < bestT) {
        bestT = b.time;
        best = i;
      }
    }
    symbol[k] = best;
    index[k] = pos[best]!++;
  }
  return { symbol, index, length: total };
}
