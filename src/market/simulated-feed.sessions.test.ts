import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { ExchangeCalendar } from './calendar.js';
import { SimulatedFeed, type FeedInstrument } from './simulated-feed.js';

const NSE: FeedInstrument = { symbol: 'RELIANCE', exchange: 'NSE', tickSize: '0.10', lotSize: '1', referencePrice: '1545.60', volatility: '0.22' };
const US: FeedInstrument = { symbol: 'AAPL', exchange: 'NASDAQ', tickSize: '0.01', lotSize: '1', referencePrice: '271.49', volatility: '0.27' };
const calendar = new ExchangeCalendar();

describe('simulated market following exchange sessions', () => {
  it('quotes only the instruments whose exchange is in session (Monday 04:00 UTC: NSE open, NASDAQ closed)', () => {
    const clock = new ManualClock(new Date('2026-01-05T04:00:00Z'));
    const feed = new SimulatedFeed({ instruments: [NSE, US], seed: 7, clock, tickMs: 1000, isSessionOpen: (ex, at) => calendar.isOpen(ex, at) });
    const usBefore = feed.get('AAPL', 'NASDAQ');
    expect(feed.step().map((q) => q.symbol)).toEqual(['RELIANCE']);
    expect(feed.get('AAPL', 'NASDAQ')).toBe(usBefore);
    clock.set(new Date('2026-01-05T15:00:00Z')); // NSE closed, NASDAQ open
    expect(feed.step().map((q) => q.symbol)).toEqual(['AAPL']);
    clock.set(new Date('2026-01-03T15:00:00Z')); // Saturday: nothing trades
    expect(feed.step()).toEqual([]);
  });

  it('quotes everything around the clock without a session rule', () => {
    const feed = new SimulatedFeed({ instruments: [NSE, US], seed: 7, clock: new ManualClock(new Date('2026-01-03T15:00:00Z')), tickMs: 1000 });
    expect(feed.step()).toHaveLength(2);
  });
});
