import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ManualClock } from '../lib/clock.js';
import { CandleAggregator, mergeCandles, minuteStart, type Candle } from './candle-aggregator.js';
import type { Quote } from './quote.js';

const T0 = new Date('2026-01-05T09:15:00Z');

function quote(clock: ManualClock, last: string, volume: string | null, symbol = 'RELIANCE', exchange = 'NSE'): Quote {
  return { symbol, exchange, bid: null, ask: null, bidSize: null, askSize: null, last, volume, timestamp: clock.now().toISOString() };
}

describe('CandleAggregator', () => {
  it('builds one OHLCV candle per UTC minute and emits it when the next minute starts', () => {
    const clock = new ManualClock(new Date(T0.getTime() + 5_000));
    const agg = new CandleAggregator();
    agg.prime(quote(clock, '1500', '1000'));
    expect(agg.add(quote(clock, '1500.1', '1100'))).toEqual([]);
    clock.advance(10_000);
    expect(agg.add(quote(clock, '1503.5', '1250'))).toEqual([]);
    clock.advance(10_000);
    expect(agg.add(quote(clock, '1498.2', '1300'))).toEqual([]);
    clock.advance(10_000);
    expect(agg.add(quote(clock, '1501', '1400'))).toEqual([]);
    clock.set(new Date('2026-01-05T09:16:00Z'));
    const closed = agg.add(quote(clock, '1502', '1450'));
    expect(closed).toEqual([
      { symbol: 'RELIANCE', exchange: 'NSE', interval: '1m', startsAt: T0, open: '1500.1', high: '1503.5', low: '1498.2', close: '1501', volume: '400' },
    ]);
    // The new minute opened with the quote that closed the old one.
    const [next] = agg.flush();
    expect(next).toMatchObject({ startsAt: new Date('2026-01-05T09:16:00Z'), open: '1502', close: '1502', volume: '50' });
  });

  it('keeps instruments apart', () => {
    const clock = new ManualClock(T0);
    const agg = new CandleAggregator();
    agg.add(quote(clock, '100', '0', 'AAPL', 'NASDAQ'));
    agg.add(quote(clock, '1500', '0'));
    clock.advance(30_000);
    agg.add(quote(clock, '101', '200', 'AAPL', 'NASDAQ'));
    expect(agg.openCount).toBe(2);
    const flushed = agg.flush();
    expect(flushed.find((c) => c.symbol === 'AAPL')).toMatchObject({ open: '100', high: '101', close: '101', volume: '200' });
    expect(flushed.find((c) => c.symbol === 'RELIANCE')).toMatchObject({ open: '1500', high: '1500', volume: '0' });
    expect(agg.openCount).toBe(0);
  });

  it('closeDue closes a quiet instrument once its minute is over, not before', () => {
    const clock = new ManualClock(new Date(T0.getTime() + 59_000));
    const agg = new CandleAggregator();
    agg.add(quote(clock, '100', '10', 'AAPL', 'NASDAQ'));
    expect(agg.closeDue(new Date(T0.getTime() + 59_999))).toEqual([]);
    const [c] = agg.closeDue(new Date(T0.getTime() + 60_000));
    expect(c).toMatchObject({ symbol: 'AAPL', startsAt: T0, open: '100', close: '100' });
    expect(agg.closeDue(new Date(T0.getTime() + 120_000))).toEqual([]);
  });

  it('treats a drop in cumulative volume as a new day and ignores quotes older than the open candle', () => {
    const clock = new ManualClock(T0);
    const agg = new CandleAggregator();
    agg.prime(quote(clock, '100', '5000'));
    agg.add(quote(clock, '100', '5100'));
    clock.advance(1000);
    agg.add(quote(clock, '101', '30'));
    const stale = quote(new ManualClock(new Date(T0.getTime() - 60_000)), '1', '40');
    expect(agg.add(stale)).toEqual([]);
    const [c] = agg.flush();
    expect(c).toMatchObject({ low: '100', high: '101', volume: '130' });
  });

  it('jumping several minutes emits the last open candle once, with no empty candles in between', () => {
    const clock = new ManualClock(T0);
    const agg = new CandleAggregator();
    agg.add(quote(clock, '100', null));
    clock.advance(5 * 60_000);
    const closed = agg.add(quote(clock, '102', null));
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ startsAt: T0, volume: '0' });
    expect(minuteStart(clock.now())).toEqual(new Date('2026-01-05T09:20:00Z'));
  });

  it('rejects a quote with an unreadable timestamp', () => {
    const agg = new CandleAggregator();
    expect(() => agg.add({ ...quote(new ManualClock(T0), '1', '1'), timestamp: 'yesterday' })).toThrow(RangeError);
  });
});

describe('mergeCandles', () => {
  it('merges two segments of one minute: earlier open, later close, extremes, summed volume', () => {
    const a = { open: '10', high: '12', low: '9.5', close: '11', volume: '100' };
    const b = { open: '11.2', high: '11.9', low: '9.1', close: '9.8', volume: '40' };
    expect(mergeCandles(a, b)).toEqual({ open: '10', high: '12', low: '9.1', close: '9.8', volume: '140' });
  });
});

describe('CandleAggregator properties', () => {
  it('for any quote stream: low ≤ open, close ≤ high, and candle volumes add up to the volume traded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 90_000 }), cents: fc.integer({ min: 1, max: 1_000_000 }), traded: fc.integer({ min: 0, max: 500 }) }), {
          minLength: 1,
          maxLength: 200,
        }),
        (steps) => {
          const clock = new ManualClock(T0);
          const agg = new CandleAggregator();
          agg.prime(quote(clock, '1', '0'));
          let cumulative = 0;
          const candles: Candle[] = [];
          for (const s of steps) {
            clock.advance(s.gapMs);
            cumulative += s.traded;
            candles.push(...agg.add(quote(clock, (s.cents / 100).toFixed(2), String(cumulative))));
          }
          candles.push(...agg.flush());
          let volume = 0;
          for (const c of candles) {
            const [o, h, l, cl] = [c.open, c.high, c.low, c.close].map(Number);
            if (!(l <= o && l <= cl && o <= h && cl <= h)) return false;
            volume += Number(c.volume);
          }
          const starts = candles.map((c) => c.startsAt.getTime());
          return volume === cumulative && new Set(starts).size === starts.length;
        },
      ),
      { seed: 20260105, numRuns: 200 },
    );
  });
});
