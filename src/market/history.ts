import { bucketStart, INTERVAL_MS, type IntervalCode } from './intervals.js';
import { deriveSeed, Prng } from './prng.js';
import type { FeedInstrument } from './simulated-feed.js';

/** A bar in plain numbers (ms since epoch, prices on the tick grid). Pure data for generation and indicators. */
export interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface HistoryOptions {
  seed: number;
  /** History ends before the UTC day of `now` (today belongs to the live feed). */
  now: Date;
  /** Calendar days of daily bars (weekdays only are sessions). Default 730. */
  dailyDays?: number;
  /** Calendar days of one-minute bars, the most recent ones. Default 30. */
  minuteDays?: number;
}

export interface History {
  /** Bars per interval, oldest first. '1d' covers `dailyDays`; the others `minuteDays`. */
  bars: Record<IntervalCode, Bar[]>;
}

const DAY = 86_400_000;

/**
 * Regular session in UTC minutes since midnight. NSE 09:15–15:30 IST = 03:45–10:00 UTC; US 09:30–16:00
 * New York is taken as 14:30–21:00 UTC all year (the simulator has no daylight saving time).
 */
export function sessionOf(exchange: string): { open: number; close: number } {
  return exchange === 'NSE' || exchange === 'BSE' ? { open: 225, close: 600 } : { open: 870, close: 1260 };
}

const decimalsOf = (tick: string) => (tick.includes('.') ? tick.split('.')[1]!.replace(/0+$/, '').length : 0);

/**
 * Deterministic history for one instrument: the same seed, instrument and day give the same bars.
 * The walk is built backwards from the instrument's reference price, so the last historical close is
 * exactly where the live feed starts on first start. One-minute bars cover the last `minuteDays`
 * (sessions only); 5m/15m/1h bars are aggregated from them; daily bars of those days are too, and older
 * daily bars come from a daily walk that ends at the first minute bar's open.
 */
export function generateHistory(instrument: FeedInstrument, opts: HistoryOptions): History {
  const rng = new Prng(deriveSeed(opts.seed, `history:${instrument.exchange}:${instrument.symbol}`));
  const tick = Number(instrument.tickSize);
  const places = decimalsOf(instrument.tickSize);
  const round = (p: number) => Math.max(tick, Number((Math.round(p / tick) * tick).toFixed(places)));
  const vol = Number(instrument.volatility);
  const session = sessionOf(instrument.exchange);
  const minutesPerSession = session.close - session.open;
  const sigmaMin = vol / Math.sqrt(252 * minutesPerSession);
  const sigmaDay = vol / Math.sqrt(252);
  const today = Math.floor(opts.now.getTime() / DAY) * DAY;
  const minuteDays = opts.minuteDays ?? 30;
  const dailyDays = opts.dailyDays ?? 730;
  const isWeekday = (dayMs: number) => {
    const d = new Date(dayMs).getUTCDay();
    return d !== 0 && d !== 6;
  };

  // Minute bars, walked backwards from the reference price (newest bar first, reversed at the end).
  const minute: Bar[] = [];
  let price = Number(instrument.referencePrice);
  for (let day = today - DAY; day >= today - minuteDays * DAY; day -= DAY) {
    if (!isWeekday(day)) continue;
    for (let m = session.close - 1; m >= session.open; m--) {
      const close = round(price);
      const open = round(price * Math.exp(-sigmaMin * rng.normal()));
      const hi = Math.max(open, close) * (1 + Math.abs(rng.normal()) * sigmaMin * 0.5);
      const lo = Math.min(open, close) * (1 - Math.abs(rng.normal()) * sigmaMin * 0.5);
      const volume = 10 * rng.int(5, 500);
      minute.push({ time: day + m * 60_000, open, high: Math.max(round(hi), open, close), low: Math.min(round(lo), open, close), close, volume });
      price = open;
    }
    price = price * Math.exp(-sigmaDay * 0.3 * rng.normal()); // the overnight gap before this session
  }
  minute.reverse();

  // Older daily bars, walked backwards from before the first minute bar.
  const older: Bar[] = [];
  const firstMinuteDay = minute.length ? Math.floor(minute[0]!.time / DAY) * DAY : today;
  for (let day = firstMinuteDay - DAY; day >= today - dailyDays * DAY; day -= DAY) {
    if (!isWeekday(day)) continue;
    const close = round(price);
    const open = round(price * Math.exp(-sigmaDay * 0.9 * rng.normal()));
    const hi = Math.max(open, close) * (1 + Math.abs(rng.normal()) * sigmaDay * 0.4);
    const lo = Math.min(open, close) * (1 - Math.abs(rng.normal()) * sigmaDay * 0.4);
    const volume = 10 * minutesPerSession * rng.int(50, 400);
    older.push({ time: day, open, high: Math.max(round(hi), open, close), low: Math.min(round(lo), open, close), close, volume });
    price = open * Math.exp(-sigmaDay * 0.3 * rng.normal());
  }
  older.reverse();

  return {
    bars: {
      '1m': minute,
      '5m': aggregateBars(minute, '5m'),
      '15m': aggregateBars(minute, '15m'),
      '1h': aggregateBars(minute, '1h'),
      '1d': [...older, ...aggregateBars(minute, '1d')],
    },
  };
}

/** Fold bars (oldest first) into buckets of `interval`: first open, highest high, lowest low, last close, summed volume. */
export function aggregateBars(bars: readonly Bar[], interval: IntervalCode): Bar[] {
  const out: Bar[] = [];
  let cur: Bar | undefined;
  for (const b of bars) {
    const start = bucketStart(b.time, interval);
    if (cur && cur.time === start) {
      if (b.high > cur.high) cur.high = b.high;
      if (b.low < cur.low) cur.low = b.low;
      cur.close = b.close;
      cur.volume += b.volume;
    } else {
      cur = { time: start, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume };
      out.push(cur);
    }
  }
  return out;
}

export { INTERVAL_MS };
