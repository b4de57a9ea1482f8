import type { Bar } from '../../market/history.js';

/**
 * Incremental indicators: O(1) work and memory bounded by the period per new bar. Each `next` takes the
 * newest input and returns the indicator's value for that bar, or null while it warms up.
 *
 * Conventions (the README repeats them):
 * - A null input before the first value is skipped (warm-up of an inner expression); a null input later
 *   yields null for that bar and leaves the state untouched.
 * - SMA(n): mean of the last n inputs; first value at the n-th input.
 * - EMA(n): α = 2/(n+1), seeded with the SMA of the first n inputs (first value at the n-th input).
 * - RSI(n): Wilder's. First average gain/loss = simple mean of the first n changes, then
 *   avg = (avg·(n−1) + x)/n; RSI = 100 − 100/(1 + gain/loss), 100 when loss is 0 (50 when both are).
 *   First value at input n+1 (n changes need n+1 prices).
 * - MACD(f,s,g): line = EMA_f − EMA_s (from the s-th input), signal = EMA_g of the line (seeded with
 *   the SMA of its first g values), histogram = line − signal.
 * - Bollinger(n,k): middle = SMA(n), bands = middle ± k·σ with σ the population deviation.
 * - stddev(n): population standard deviation of the last n inputs.
 * - returns(n): x / x[n] − 1, a simple return over n bars.
 * - ATR(n): Wilder's. True range needs the previous close, so it starts at the second bar; the first ATR
 *   is the mean of the first n true ranges (bar n+1), then Wilder smoothing.
 * - VWAP: anchored to the session (UTC calendar day; NSE and US sessions never cross it):
 *   Σ(typical·volume)/Σvolume with typical = (h+l+c)/3; the typical price when the session has no volume.
 */
export interface SeriesIndicator {
  next(x: number | null): number | null;
}
export interface BarIndicator {
  next(bar: Bar): number | null;
}

/** A fixed-size window over the last n inputs. */
class Window {
  private readonly buf: Float64Array;
  private i = 0;
  count = 0;
  constructor(readonly n: number) {
    this.buf = new Float64Array(n);
  }
  /** Push x; returns the value that fell out (or NaN while filling). */
  push(x: number): number {
    const out = this.count >= this.n ? this.buf[this.i]! : NaN;
    this.buf[this.i] = x;
    this.i = (this.i + 1) % this.n;
    if (this.count < this.n) this.count++;
    return out;
  }
  get full(): boolean {
    return this.count >= this.n;
  }
  /** The value pushed `k` inputs ago (0 = newest). */
  ago(k: number): number {
    return this.buf[(this.i - 1 - k + this.n * 2) % this.n]!;
  }
}

export class Sma implements SeriesIndicator {
  private readonly w: Window;
  private sum = 0;
  constructor(readonly n: number) {
    this.w = new Window(n);
  }
  next(x: number | null): number | null {
    if (x === null) return null;
    const out = this.w.push(x);
    this.sum += x - (Number.isNaN(out) ? 0 : out);
    return this.w.full ? this.sum / this.n : null;
  }
}

export class Ema implements SeriesIndicator {
  private readonly alpha: number;
  private value: number | null = null;
  private seedSum = 0;
  private seen = 0;
  constructor(readonly n: number) {
    this.alpha = 2 / (n + 1);
  }
  next(x: number | null): number | null {
    if (x === null) return null;
    if (this.value === null) {
      this.seedSum += x;
      if (++this.seen < this.n) return null;
      this.value = this.seedSum / this.n;
      return this.value;
    }
    this.value = (x - this.value) * this.alpha + this.value;
    return this.value;
  }
}

export class Rsi implements SeriesIndicator {
  private prev: number | null = null;
  private gain = 0;
  private loss = 0;
  private changes = 0;
  constructor(readonly n: number) {}
  next(x: number | null): number | null {
    if (x === null) return null;
    if (this.prev === null) {
      this.prev = x;
      return null;
    }
    const d = x - this.prev;
    this.prev = x;
    const g = d > 0 ? d : 0;
    const l = d < 0 ? -d : 0;
    if (this.changes < this.n) {
      this.gain += g / this.n;
      this.loss += l / this.n;
      if (++this.changes < this.n) return null;
    } else {
      this.gain = (this.gain * (this.n - 1) + g) / this.n;
      this.loss = (this.loss * (this.n - 1) + l) / this.n;
    }
    if (this.loss === 0) return this.gain === 0 ? 50 : 100;
    return 100 - 100 / (1 + this.gain / this.loss);
  }
}

export type MacdPart = 'line' | 'signal' | 'hist';

export class Macd implements SeriesIndicator {
  private readonly fast: Ema;
  private readonly slow: Ema;
  private readonly signal: Ema;
  constructor(
    f: number,
    s: number,
    g: number,
    private readonly part: MacdPart,
  ) {
    this.fast = new Ema(f);
    this.slow = new Ema(s);
    this.signal = new Ema(g);
  }
  next(x: number | null): number | null {
    if (x === null) return null;
    const f = this.fast.next(x);
    const s = this.slow.next(x);
    if (f === null || s === null) return null;
    const line = f - s;
    const sig = this.signal.next(line);
    if (this.part === 'line') return line;
    if (sig === null) return null;
    return this.part === 'signal' ? sig : line - sig;
  }
}

export class StdDev implements SeriesIndicator {
  private readonly w: Window;
  constructor(readonly n: number) {
    this.w = new Window(n);
  }
  next(x: number | null): number | null {
    if (x === null) return null;
    this.w.push(x);
    if (!this.w.full) return null;
    return populationStd(this.w, this.n);
  }
}

/** Two passes over the window (n is small): exact where running sums of squares drift. */
function populationStd(w: Window, n: number): number {
  let mean = 0;
  for (let k = 0; k < n; k++) mean += w.ago(k);
  mean /= n;
  let ss = 0;
  for (let k = 0; k < n; k++) {
    const d = w.ago(k) - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / n);
}

export type BandPart = 'upper' | 'middle' | 'lower';

export class Bollinger implements SeriesIndicator {
  private readonly w: Window;
  constructor(
    readonly n: number,
    private readonly k: number,
    private readonly part: BandPart,
  ) {
    this.w = new Window(n);
  }
  next(x: number | null): number | null {
    if (x === null) return null;
    this.w.push(x);
    if (!this.w.full) return null;
    let mean = 0;
    for (let i = 0; i < this.n; i++) mean += this.w.ago(i);
    mean /= this.n;
    if (this.part === 'middle') return mean;
    const sd = populationStd(this.w, this.n);
    return this.part === 'upper' ? mean + this.k * sd : mean - this.k * sd;
  }
}

export class Returns implements SeriesIndicator {
  private readonly w: Window;
  constructor(readonly n: number) {
    this.w = new Window(n + 1);
  }
  next(x: number | null): number | null {
    if (x === null) return null;
    this.w.push(x);
    if (!this.w.full) return null;
    const base = this.w.ago(this.n);
    return base === 0 ? null : x / base - 1;
  }
}

export class Atr implements BarIndicator {
  private prevClose: number | null = null;
  private value = 0;
  private seen = 0;
  constructor(readonly n: number) {}
  next(bar: Bar): number | null {
    const pc = this.prevClose;
    this.prevClose = bar.close;
    if (pc === null) return null;
    const tr = Math.max(bar.high - bar.low, Math.abs(bar.high - pc), Math.abs(bar.low - pc));
    if (this.seen < this.n) {
      this.value += tr / this.n;
      return ++this.seen < this.n ? null : this.value;
    }
    this.value = (this.value * (this.n - 1) + tr) / this.n;
    return this.value;
  }
}

const DAY = 86_400_000;

export class Vwap implements BarIndicator {
  private day = NaN;
  private pv = 0;
  private v = 0;
  next(bar: Bar): number | null {
    const d = Math.floor(bar.time / DAY);
    if (d !== this.day) {
      this.day = d;
      this.pv = 0;
      this.v = 0;
    }
    const typical = (bar.high + bar.low + bar.close) / 3;
    this.pv += typical * bar.volume;
    this.v += bar.volume;
    return this.v === 0 ? typical : this.pv / this.v;
  }
}

/** Run a series indicator over a whole input (the batch form is the incremental one, so values are identical). */
export function runSeries(ind: SeriesIndicator, xs: readonly (number | null)[]): (number | null)[] {
  return xs.map((x) => ind.next(x));
}

/** Run a bar indicator over bars. */
export function runBars(ind: BarIndicator, bars: readonly Bar[]): (number | null)[] {
  return bars.map((b) => ind.next(b));
}
