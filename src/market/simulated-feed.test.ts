import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { dec, isMultipleOf } from '../lib/decimal.js';
import type { Quote } from './quote.js';
import { SimulatedFeed, TRADING_YEAR_SECONDS, type FeedInstrument } from './simulated-feed.js';

const RELIANCE: FeedInstrument = { symbol: 'RELIANCE', exchange: 'NSE', tickSize: '0.10', lotSize: '1', referencePrice: '1545.60', volatility: '0.22' };
const ONGC: FeedInstrument = { symbol: 'ONGC', exchange: 'NSE', tickSize: '0.01', lotSize: '1', referencePrice: '241.37', volatility: '0.28' };
const MARUTI: FeedInstrument = { symbol: 'MARUTI', exchange: 'NSE', tickSize: '1.00', lotSize: '1', referencePrice: '16248', volatility: '0.24' };
const AAPL: FeedInstrument = { symbol: 'AAPL', exchange: 'NASDAQ', tickSize: '0.01', lotSize: '1', referencePrice: '271.49', volatility: '0.27' };
const TSLA: FeedInstrument = { symbol: 'TSLA', exchange: 'NASDAQ', tickSize: '0.01', lotSize: '1', referencePrice: '431.28', volatility: '0.58' };
/** A cheap, very volatile instrument with lots of 75: stresses the floor at one tick and lot rounding. */
const PENNY: FeedInstrument = { symbol: 'PENNY', exchange: 'NSE', tickSize: '0.05', lotSize: '75', referencePrice: '1.20', volatility: '1.50' };

function feed(instruments: FeedInstrument[], seed = 42, tickMs = 1000, clock = new ManualClock()): SimulatedFeed {
  return new SimulatedFeed({ instruments, seed, clock, tickMs });
}

function run(f: SimulatedFeed, clock: ManualClock, steps: number, tickMs = 1000): Quote[] {
  const all: Quote[] = [];
  for (let i = 0; i < steps; i++) {
    clock.advance(tickMs);
    all.push(...f.step());
  }
  return all;
}

function assertQuoteInvariants(q: Quote, inst: FeedInstrument): void {
  const tick = dec(inst.tickSize);
  const bid = dec(q.bid ?? 'NaN');
  const ask = dec(q.ask ?? 'NaN');
  const last = dec(q.last);
  for (const p of [bid, ask, last]) {
    if (!(p.gt(0) && isMultipleOf(p, tick))) throw new Error(`${q.symbol} off grid or non-positive: ${p.toString()} (tick ${inst.tickSize})`);
  }
  if (!bid.lt(ask)) throw new Error(`${q.symbol} bid ${bid} not below ask ${ask}`);
  if (ask.minus(bid).lt(tick)) throw new Error(`${q.symbol} spread below one tick`);
  if (last.lt(bid) || last.gt(ask)) throw new Error(`${q.symbol} last ${last} outside [${bid}, ${ask}]`);
  for (const size of [q.bidSize, q.askSize]) {
    const s = dec(size ?? '0');
    if (!(s.gt(0) && isMultipleOf(s, inst.lotSize))) throw new Error(`${q.symbol} size ${size} not a positive lot multiple`);
  }
}

describe('SimulatedFeed', () => {
  it('same seed gives an identical quote sequence; another seed a different one', () => {
    const c1 = new ManualClock();
    const c2 = new ManualClock();
    const c3 = new ManualClock();
    const a = feed([RELIANCE, AAPL], 7, 1000, c1);
    const b = feed([RELIANCE, AAPL], 7, 1000, c2);
    const c = feed([RELIANCE, AAPL], 8, 1000, c3);
    const qa = run(a, c1, 500);
    const qb = run(b, c2, 500);
    const qc = run(c, c3, 500);
    expect(qb).toEqual(qa);
    expect(qc.map((q) => q.last)).not.toEqual(qa.map((q) => q.last));
  });

  it("adding an instrument does not change another instrument's walk", () => {
    const c1 = new ManualClock();
    const c2 = new ManualClock();
    const alone = run(feed([RELIANCE], 7, 1000, c1), c1, 200);
    const together = run(feed([AAPL, RELIANCE, TSLA], 7, 1000, c2), c2, 200).filter((q) => q.symbol === 'RELIANCE');
    expect(together).toEqual(alone);
  });

  it('keeps every price on the tick grid, positive, with bid < ask and last inside, over 10k steps', () => {
    const instruments = [RELIANCE, ONGC, MARUTI, AAPL, PENNY];
    const clock = new ManualClock();
    const f = feed(instruments, 2026, 1000, clock);
    const bySymbol = new Map(instruments.map((i) => [i.symbol, i]));
    for (const q of f.quotes()) assertQuoteInvariants(q, bySymbol.get(q.symbol)!);
    let checked = 0;
    let moved = 0;
    let prevLast = f.get('AAPL', 'NASDAQ')?.last;
    for (let i = 0; i < 10_000; i++) {
      clock.advance(1000);
      for (const q of f.step()) {
        assertQuoteInvariants(q, bySymbol.get(q.symbol)!);
        checked++;
      }
      const last = f.get('AAPL', 'NASDAQ')?.last;
      if (last !== prevLast) moved++;
      prevLast = last;
    }
    expect(checked).toBe(50_000);
    // The walk must actually move (a grid rounding bug would freeze it).
    expect(moved).toBeGreaterThan(1000);
  });

  it('widens the spread with volatility but never below one tick', () => {
    const clock = new ManualClock();
    const calm: FeedInstrument = { ...AAPL, symbol: 'CALM', volatility: '0.10' };
    const wild: FeedInstrument = { ...AAPL, symbol: 'WILD', volatility: '1.20' };
    const f = feed([calm, wild], 3, 1000, clock);
    const spreads = { CALM: [] as number[], WILD: [] as number[] };
    for (const q of run(f, clock, 2000)) {
      const ticks = dec(q.ask!).minus(q.bid!).div('0.01').toNumber();
      expect(ticks).toBeGreaterThanOrEqual(1);
      spreads[q.symbol as 'CALM' | 'WILD'].push(ticks);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(spreads.WILD)).toBeGreaterThan(2 * mean(spreads.CALM));
  });

  it('shows realistic displayed sizes: 50–2000 on NSE, round lots of 100–1000 in the US', () => {
    const clock = new ManualClock();
    const f = feed([RELIANCE, AAPL], 11, 1000, clock);
    const nse = new Set<number>();
    for (const q of run(f, clock, 2000)) {
      for (const s of [Number(q.bidSize), Number(q.askSize)]) {
        if (q.exchange === 'NSE') {
          expect(s).toBeGreaterThanOrEqual(50);
          expect(s).toBeLessThanOrEqual(2000);
          nse.add(s);
        } else {
          expect(s).toBeGreaterThanOrEqual(100);
          expect(s).toBeLessThanOrEqual(1000);
          expect(s % 100).toBe(0);
        }
      }
    }
    expect(nse.size).toBeGreaterThan(100);
  });

  it('realised volatility of log returns matches the configured volatility within 10%', () => {
    // One-minute steps so the tick grid adds no measurable noise; 20k returns give a standard error near 0.5%.
    const tickMs = 60_000;
    const instruments = [RELIANCE, TSLA, { ...ONGC, volatility: '0.15' }];
    const clock = new ManualClock();
    const f = feed(instruments, 99, tickMs, clock);
    const prev = new Map(f.quotes().map((q) => [q.symbol, Number(q.last)]));
    const sums = new Map<string, { n: number; s: number; ss: number }>();
    for (let i = 0; i < 20_000; i++) {
      clock.advance(tickMs);
      for (const q of f.step()) {
        const p = Number(q.last);
        const r = Math.log(p / prev.get(q.symbol)!);
        prev.set(q.symbol, p);
        const acc = sums.get(q.symbol) ?? { n: 0, s: 0, ss: 0 };
        acc.n++;
        acc.s += r;
        acc.ss += r * r;
        sums.set(q.symbol, acc);
      }
    }
    for (const inst of instruments) {
      const { n, s, ss } = sums.get(inst.symbol)!;
      const variance = (ss - (s * s) / n) / (n - 1);
      const annualised = Math.sqrt(variance * (TRADING_YEAR_SECONDS / (tickMs / 1000)));
      const target = Number(inst.volatility);
      expect(annualised, inst.symbol).toBeGreaterThan(target * 0.9);
      expect(annualised, inst.symbol).toBeLessThan(target * 1.1);
    }
  });

  it('accumulates daily volume and resets it when the UTC date changes', () => {
    const clock = new ManualClock(new Date('2026-01-05T23:59:50Z'));
    const f = feed([RELIANCE], 5, 1000, clock);
    expect(f.get('RELIANCE', 'NSE')?.volume).toBe('0');
    let prev = dec(0);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      const v = dec(f.step()[0].volume!);
      expect(v.gte(prev)).toBe(true);
      prev = v;
    }
    expect(prev.gt(0)).toBe(true);
    clock.set(new Date('2026-01-06T00:00:01Z'));
    const afterMidnight = dec(f.step()[0].volume!);
    expect(afterMidnight.lte(1000)).toBe(true);
    expect(afterMidnight.lt(prev)).toBe(true);
  });

  it('setPrice moves the quote at once and the walk continues from there', () => {
    const clock = new ManualClock();
    const f = feed([RELIANCE, AAPL], 1, 1000, clock);
    const seen: Quote[] = [];
    f.onQuote((q) => seen.push(q));
    const q = f.setPrice('RELIANCE', 'NSE', '1400.03');
    expect(q).toMatchObject({ last: '1400', bid: '1399.9', ask: '1400.1' });
    expect(f.get('RELIANCE', 'NSE')).toEqual(q);
    expect(seen).toEqual([q]);
    clock.advance(1000);
    f.step();
    const next = dec(f.get('RELIANCE', 'NSE')!.last);
    expect(next.minus(1400).abs().lt(20)).toBe(true);
    expect(() => f.setPrice('NOPE', 'NSE', '1')).toThrow(/unknown instrument/);
    expect(() => f.setPrice('RELIANCE', 'NSE', '-5')).toThrow(RangeError);
  });

  it('resumes from start prices when given', () => {
    const f = new SimulatedFeed({
      instruments: [RELIANCE, AAPL],
      seed: 1,
      clock: new ManualClock(),
      tickMs: 1000,
      startPrices: new Map([['NSE:RELIANCE', '1601.2']]),
    });
    expect(f.get('RELIANCE', 'NSE')?.last).toBe('1601.2');
    expect(f.get('AAPL', 'NASDAQ')?.last).toBe('271.49');
    expect(f.get('MSFT', 'NASDAQ')).toBeNull();
  });

  it('delivers every quote to listeners until they unsubscribe, and survives a throwing listener', () => {
    const clock = new ManualClock();
    const f = feed([RELIANCE, AAPL, TSLA], 1, 1000, clock);
    const got: Quote[] = [];
    f.onQuote(() => {
      throw new Error('bad listener');
    });
    const off = f.onQuote((q) => got.push(q));
    const emitted = run(f, clock, 10);
    expect(got).toEqual(emitted);
    expect(got).toHaveLength(30);
    off();
    run(f, clock, 5);
    expect(got).toHaveLength(30);
  });

  it('start() ticks on a timer and stop() leaves no timer behind', async () => {
    const clock = new ManualClock();
    const f = feed([RELIANCE], 1, 10, clock);
    let n = 0;
    f.onQuote(() => n++);
    f.start();
    f.start();
    expect(f.running).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    f.stop();
    expect(f.running).toBe(false);
    expect(n).toBeGreaterThan(0);
    const after = n;
    await new Promise((r) => setTimeout(r, 50));
    expect(n).toBe(after);
  });
});
