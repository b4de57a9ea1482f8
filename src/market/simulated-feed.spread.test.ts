import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import type { Quote } from './quote.js';
import { MIN_SLOT_MS, SimulatedFeed, type FeedInstrument } from './simulated-feed.js';

function instrument(symbol: string): FeedInstrument {
  return { symbol, exchange: 'NSE', tickSize: '0.05', lotSize: '1', referencePrice: '500', volatility: '0.3' };
}

const FOUR = ['AAA', 'BBB', 'CCC', 'DDD'].map(instrument);

function feed(instruments: FeedInstrument[], tickMs: number, spreadTicks: boolean, clock = new ManualClock()): SimulatedFeed {
  return new SimulatedFeed({ instruments, seed: 11, clock, tickMs, spreadTicks });
}

describe('SimulatedFeed with spread ticks (MARKET_TICK_SPREAD)', () => {
  it('uses one slot per instrument, at most tickMs / MIN_SLOT_MS, and one slot when not spreading', () => {
    const sixty = Array.from({ length: 60 }, (_, i) => instrument(`S${i}`));
    expect(feed(FOUR, 1000, true).slotCount()).toBe(4);
    expect(feed(sixty, 1000, true).slotCount()).toBe(1000 / MIN_SLOT_MS);
    expect(feed(sixty, 200, true).slotCount()).toBe(200 / MIN_SLOT_MS);
    expect(feed(sixty, MIN_SLOT_MS, true).slotCount()).toBe(1);
    expect(feed(sixty, 1000, false).slotCount()).toBe(1);
    expect(feed([instrument('ONE')], 1000, true).slotCount()).toBe(1);
  });

  it('ticks each instrument once per interval at its own phase instead of all in the same instant', async () => {
    const f = feed(FOUR, 200, true); // four slots of 50 ms
    const got: { symbol: string; at: number }[] = [];
    f.onQuote((q) => got.push({ symbol: q.symbol, at: performance.now() }));
    const t0 = performance.now();
    f.start();
    await new Promise((r) => setTimeout(r, 1030));
    f.stop();
    const elapsed = performance.now() - t0;
    // Round-robin order, one instrument per slot.
    expect(got.slice(0, 8).map((g) => g.symbol)).toEqual(['AAA', 'BBB', 'CCC', 'DDD', 'AAA', 'BBB', 'CCC', 'DDD']);
    // The rate is the configured one: one tick per instrument per 200 ms (a timer may run late, never early).
    for (const s of ['AAA', 'BBB', 'CCC', 'DDD']) {
      const n = got.filter((g) => g.symbol === s).length;
      expect(n).toBeLessThanOrEqual(Math.floor(elapsed / 200) + 1);
      expect(n).toBeGreaterThanOrEqual(3);
    }
    // Consecutive quotes are a slot apart (50 ms), not emitted together: the median gap shows it even on a busy box.
    const gaps = got.slice(1).map((g, i) => g.at - got[i].at).sort((a, b) => a - b);
    expect(gaps[Math.floor(gaps.length / 2)]).toBeGreaterThan(25);
  });

  it('emits every quote of one step together when not spreading (the synchronised market)', async () => {
    const f = feed(FOUR, 100, false);
    const batches: number[] = [];
    let last = -1;
    f.onQuote(() => {
      const now = performance.now();
      if (now - last > 5) batches.push(0);
      batches[batches.length - 1]++;
      last = now;
    });
    f.start();
    await new Promise((r) => setTimeout(r, 350));
    f.stop();
    expect(batches.length).toBeGreaterThan(0);
    for (const n of batches) expect(n).toBe(4);
  });

  it('gives each instrument the same walk whether it ticks spread or all at once', async () => {
    const clock = new ManualClock();
    const spread = feed(FOUR, 4 * MIN_SLOT_MS, true, clock); // four slots
    expect(spread.slotCount()).toBe(4);
    const seen: Quote[] = [];
    spread.onQuote((q) => seen.push(q));
    spread.start();
    await new Promise((r) => setTimeout(r, 10 * MIN_SLOT_MS));
    spread.stop();
    const stepped = feed(FOUR, 4 * MIN_SLOT_MS, false, clock);
    const bySymbol = (qs: Quote[], s: string) => qs.filter((q) => q.symbol === s).map((q) => [q.last, q.bid, q.ask, q.bidSize, q.volume]);
    const reference: Quote[] = [];
    for (let i = 0; i < 20; i++) reference.push(...stepped.step());
    for (const s of ['AAA', 'BBB', 'CCC', 'DDD']) {
      const mine = bySymbol(seen, s);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine).toEqual(bySymbol(reference, s).slice(0, mine.length));
    }
  });

  it('a late timer catches up the slots that fell due in one turn instead of losing ticks', async () => {
    const f = feed(FOUR, 200, true); // slots due at 50, 100, 150, 200 ms
    const got: string[] = [];
    f.onQuote((q) => got.push(q.symbol));
    f.start();
    const blockUntil = performance.now() + 170;
    while (performance.now() < blockUntil) {
      // the process is busy: no timer runs
    }
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
    f.stop();
    expect(got.slice(0, 3)).toEqual(['AAA', 'BBB', 'CCC']);
  });

  it('stop() from a listener ends the spread schedule for good', async () => {
    const f = feed(FOUR, 4 * MIN_SLOT_MS, true); // four slots
    expect(f.slotCount()).toBe(4);
    let n = 0;
    f.onQuote(() => {
      n++;
      if (n === 2) f.stop();
    });
    f.start();
    await new Promise((r) => setTimeout(r, 8 * MIN_SLOT_MS));
    expect(n).toBe(2);
    expect(f.running).toBe(false);
  });
});
