import type { Bar } from '../../market/history.js';
import { divDownU, mulU, text, units, unitsOf } from './fixed.js';
import type { RuleSet, SignalAction } from '../definition.js';
import { SymbolEngine } from '../signal-engine.js';
import type { Sizing } from '../sizing.js';

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
  /** Exact decimal text (8 places at most): cash plus each position marked at its latest close. */
  value: string;
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
  qty: bigint;
  side: 'LONG' | 'SHORT';
  entryTime: number;
  entryPrice: bigint;
  entryFee: bigint;
}

const DAY = 86_400_000;

/**
 * Replays bars through the strategy's engines with a simple fill model: a signal on a bar's close fills at
 * that close moved against us by `slippageBps` (rounded to 8 places), paying `feeRate` of the notional
 * (rounded half-up to 8 places). Cash, trade P&L and the daily equity points are exact decimals
 * (fixed-point, fixed.ts); only percent-of-equity sizing reads a floating-point mark. Entry sizes follow the
 * live rule (`entryQuantity`): a quantity, an amount or a percent of equity, rounded down to the lot; a
 * long entry whose cost and fee exceed the cash is skipped (live, the order would be refused).
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
  const lots = series.map((s) => units(s.lot));
  let cash = units(p.initialCash);
  const feeRate = units(p.feeRate);
  const slip = p.slippageBps / 10_000;
  const sizeQty = p.sizing.quantity ? units(p.sizing.quantity) : null;
  const sizeAmount = p.sizing.amount ? units(p.sizing.amount) : null;
  const sizePct = p.sizing.percentOfEquity ? units(p.sizing.percentOfEquity) : 0n;
  const signals: EngineSignal[] = [];
  const trades: EngineTrade[] = [];
  const daily: EnginePoint[] = [];
  // Float mirror of the book for the per-bar equity mark: cash as a number plus Σ signed qty × close.
  let cashF = Number(cash) / 1e8;
  const qtyF = new Float64Array(series.length);
  const closeF = new Float64Array(series.length);
  let openBooks = 0;
  let exposed = 0;

  const order = mergeOrder(series);
  const total = order.length;
  const chunk = hooks.chunk ?? 50_000;
  let lastDay = -1;
  let lastTime = NaN;

  // Cash plus every open position marked at its latest close, exactly (units of 1e-8).
  const valueU = (): bigint => {
    let v = cash;
    for (let i = 0; i < books.length; i++) {
      const b = books[i];
      if (!b) continue;
      const mark = mulU(unitsOf(closeF[i]!), b.qty);
      v = b.side === 'LONG' ? v + mark : v - mark;
    }
    return v;
  };

  const fill = (i: number, action: SignalAction, bar: Bar) => {
    const s = series[i]!;
    const buying = action === 'ENTER_LONG' || action === 'EXIT_SHORT';
    const px = unitsOf(bar.close * (buying ? 1 + slip : 1 - slip));
    signals.push({ instrumentId: s.instrumentId, symbol: s.symbol, action, time: bar.time, price: bar.close });
    if (px <= 0n) return;
    if (action === 'ENTER_LONG' || action === 'ENTER_SHORT') {
      let q: bigint;
      if (sizeQty !== null) q = sizeQty;
      else if (sizeAmount !== null) q = divDownU(sizeAmount, px);
      else {
        const equity = unitsOf(cashF + sumMarks(qtyF, closeF));
        q = equity > 0n ? divDownU(mulU(equity, sizePct) / 100n, px) : 0n;
      }
      const lot = lots[i]!;
      q = lot > 0n ? q - (q % lot) : q;
      if (q <= 0n) return;
      const notional = mulU(px, q);
      const fee = mulU(notional, feeRate);
      // As a live order would be refused for insufficient funds, a long entry that costs more (with its
      // fee) than the cash on hand is not taken: no silent leverage. The signal stands, as it does live.
      if (action === 'ENTER_LONG' && notional + fee > cash) return;
      cash = action === 'ENTER_LONG' ? cash - notional - fee : cash + notional - fee;
      books[i] = { qty: q, side: action === 'ENTER_LONG' ? 'LONG' : 'SHORT', entryTime: bar.time, entryPrice: px, entryFee: fee };
      qtyF[i] = (action === 'ENTER_LONG' ? 1 : -1) * (Number(q) / 1e8);
      openBooks++;
    } else {
      const b = books[i];
      if (!b) return;
      const notional = mulU(px, b.qty);
      const entryNotional = mulU(b.entryPrice, b.qty);
      const fee = mulU(notional, feeRate);
      const gross = b.side === 'LONG' ? notional - entryNotional : entryNotional - notional;
      const pnl = gross - fee - b.entryFee;
      cash = b.side === 'LONG' ? cash + notional - fee : cash - notional - fee;
      trades.push({
        instrumentId: s.instrumentId,
        symbol: s.symbol,
        side: b.side,
        quantity: text(b.qty),
        entryTime: b.entryTime,
        entryPrice: text(b.entryPrice),
        exitTime: bar.time,
        exitPrice: text(px),
        pnl: text(pnl),
        returnPct: Number(pnl) / Number(entryNotional),
      });
      books[i] = undefined;
      qtyF[i] = 0;
      openBooks--;
    }
    cashF = Number(cash) / 1e8;
  };

  for (let k = 0; k < total; k++) {
    const i = order.symbol[k]!;
    const bar = series[i]!.bars[order.index[k]!]!;
    // Close the previous bar time's day before this bar moves the marks.
    const day = Math.floor(bar.time / DAY);
    if (day !== lastDay && !Number.isNaN(lastTime)) {
      daily.push({ time: lastTime, value: text(openBooks > 0 ? valueU() : cash), exposed: openBooks > 0 });
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
    daily.push({ time: lastTime, value: text(openBooks > 0 ? valueU() : cash), exposed: openBooks > 0 });
    if (openBooks > 0) exposed++;
  }
  // Positions still open are reported as open trades, valued at the last close.
  const value = valueU();
  books.forEach((b, i) => {
    if (!b) return;
    trades.push({
      instrumentId: series[i]!.instrumentId,
      symbol: series[i]!.symbol,
      side: b.side,
      quantity: text(b.qty),
      entryTime: b.entryTime,
      entryPrice: text(b.entryPrice),
      exitTime: null,
      exitPrice: null,
      pnl: null,
      returnPct: null,
    });
  });
  // Trades were collected as they closed (open ones last): report them in entry order, ties (one bar time)
  // in the order of `series`, as the bars were replayed.
  const rank = new Map(series.map((s, i) => [s.instrumentId, i]));
  trades.sort((a, b) => a.entryTime - b.entryTime || rank.get(a.instrumentId)! - rank.get(b.instrumentId)!);
  await hooks.onChunk?.(total);
  return {
    signals,
    trades,
    daily,
    finalCash: text(cash),
    finalValue: text(value),
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
