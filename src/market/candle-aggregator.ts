import { Decimal, dec, fmt } from '../lib/decimal.js';
import { instrumentKey, type Quote } from './quote.js';

/** An OHLCV bar. Decimals are strings; `startsAt` is the UTC minute it covers. */
export interface Candle {
  symbol: string;
  exchange: string;
  /** '1m' for what the aggregator builds; imports may store other intervals. */
  interval: string;
  startsAt: Date;
  open: string;
  high: string;
  low: string;
  close: string;
  /** Shares traded within the bar (or within this segment of it, see `CandleAggregator.flush`). */
  volume: string;
}

export const ONE_MINUTE_MS = 60_000;

interface Building {
  symbol: string;
  exchange: string;
  startMs: number;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  close: Decimal;
  volume: Decimal;
}

/** The start of the UTC minute `t` falls in. */
export function minuteStart(t: Date | number): Date {
  const ms = typeof t === 'number' ? t : t.getTime();
  return new Date(Math.floor(ms / ONE_MINUTE_MS) * ONE_MINUTE_MS);
}

/**
 * Folds quotes (their last price, and the change in their cumulative daily volume) into one-minute OHLCV
 * candles per instrument, aligned to the UTC minute. Pure: no clock, no I/O; time comes from the quotes and
 * from the `now` given to `closeDue`.
 *
 * A candle is emitted once, when its minute closes: either a quote from a later minute arrives (`add`) or
 * the caller says the minute is over (`closeDue`). `flush` emits the partial candles and forgets them; the
 * rest of that minute then forms a new segment, and segments of one minute merge (see `mergeCandles`).
 */
export class CandleAggregator {
  private readonly building = new Map<string, Building>();
  private readonly lastVolume = new Map<string, Decimal>();

  /** Record an instrument's cumulative volume without opening a candle, so the next quote's delta is right. */
  prime(q: Quote): void {
    if (q.volume !== null) this.lastVolume.set(instrumentKey(q.exchange, q.symbol), dec(q.volume));
  }

  /**
   * Add one quote. Returns the candle it closed, if it is the first quote of a new minute for its instrument.
   * A quote older than the instrument's open candle is ignored for prices (its volume still moves the baseline).
   * The first quote ever seen for an instrument only sets the volume baseline unless `prime` was called.
   */
  add(q: Quote): Candle[] {
    const key = instrumentKey(q.exchange, q.symbol);
    const volumeDelta = this.volumeDelta(key, q.volume);
    const ts = Date.parse(q.timestamp);
    if (Number.isNaN(ts)) throw new RangeError(`quote for ${key} has an invalid timestamp: ${q.timestamp}`);
    const startMs = minuteStart(ts).getTime();
    const price = dec(q.last);
    const current = this.building.get(key);
    if (current && startMs < current.startMs) return [];
    if (current && startMs === current.startMs) {
      if (price.gt(current.high)) current.high = price;
      if (price.lt(current.low)) current.low = price;
      current.close = price;
      current.volume = current.volume.plus(volumeDelta);
      return [];
    }
    this.building.set(key, { symbol: q.symbol, exchange: q.exchange, startMs, open: price, high: price, low: price, close: price, volume: volumeDelta });
    return current ? [toCandle(current)] : [];
  }

  /** Emit and forget every candle whose minute has ended by `now` (an instrument with no new quote still closes). */
  closeDue(now: Date): Candle[] {
    const out: Candle[] = [];
    const cutoff = minuteStart(now).getTime();
    for (const [key, b] of this.building) {
      if (b.startMs < cutoff) {
        out.push(toCandle(b));
        this.building.delete(key);
      }
    }
    return out;
  }

  /** Emit every open (partial) candle and forget it; used when the feed stops. */
  flush(): Candle[] {
    const out = [...this.building.values()].map(toCandle);
    this.building.clear();
    return out;
  }

  /** Instruments with a candle in progress. */
  get openCount(): number {
    return this.building.size;
  }

  private volumeDelta(key: string, volume: string | null): Decimal {
    if (volume === null) return new Decimal(0);
    const now = dec(volume);
    const prev = this.lastVolume.get(key);
    this.lastVolume.set(key, now);
    if (prev === undefined) return new Decimal(0);
    // A smaller cumulative volume means a new trading day began: everything since the reset is new.
    return now.gte(prev) ? now.minus(prev) : now;
  }
}

function toCandle(b: Building): Candle {
  return {
    symbol: b.symbol,
    exchange: b.exchange,
    interval: '1m',
    startsAt: new Date(b.startMs),
    open: fmt(b.open),
    high: fmt(b.high),
    low: fmt(b.low),
    close: fmt(b.close),
    volume: fmt(b.volume),
  };
}

/**
 * Merge two segments of the same instrument and minute, `earlier` first: open of the earlier, close of the
 * later, extremes of both, volumes added. Associative, so segments can be merged in any grouping.
 */
export function mergeCandles<T extends Pick<Candle, 'open' | 'high' | 'low' | 'close' | 'volume'>>(earlier: T, later: T): T {
  return {
    ...later,
    open: earlier.open,
    high: fmt(Decimal.max(dec(earlier.high), dec(later.high))),
    low: fmt(Decimal.min(dec(earlier.low), dec(later.low))),
    close: later.close,
    volume: fmt(dec(earlier.volume).plus(later.volume)),
  };
}
