import { describe, expect, it } from 'vitest';
import type { QuoteMessage } from '../events/topics.js';
import { ManualClock } from '../lib/clock.js';
import { QuoteCache, type LatestQuoteSnapshot } from './quote-cache.js';
import type { Quote } from './quote.js';
import { RecordingPubSub } from './recording-pubsub.test-support.js';
import { SimulatedFeed, type FeedInstrument } from './simulated-feed.js';
import { toQuoteMessage } from './market-feed.service.js';

const RELIANCE = { symbol: 'RELIANCE', exchange: 'NSE' };
const AAPL = { symbol: 'AAPL', exchange: 'NASDAQ' };

function msg(symbol: string, exchange: string, last: string, timestamp: string): QuoteMessage {
  return { symbol, exchange, bid: last, ask: last, bidSize: '100', askSize: '100', last, volume: '10', timestamp };
}

describe('QuoteCache', () => {
  it('answers from the stored snapshot before any tick, then follows live quotes', async () => {
    const pubsub = new RecordingPubSub();
    const snapshot: LatestQuoteSnapshot = {
      loadLatestQuotes: async () => [msg('RELIANCE', 'NSE', '1545.6', '2026-01-05T09:15:00.000Z'), msg('TCS', 'NSE', '3215.4', '2026-01-05T09:15:00.000Z')],
    };
    const cache = new QuoteCache({ snapshot });
    await cache.start(pubsub, [RELIANCE, AAPL]);
    expect(cache.get('RELIANCE', 'NSE')?.last).toBe('1545.6');
    // Not tracked: the snapshot row is not served.
    expect(cache.get('TCS', 'NSE')).toBeNull();
    expect(cache.get('AAPL', 'NASDAQ')).toBeNull();
    await pubsub.publish('quotes', 'NASDAQ:AAPL', msg('AAPL', 'NASDAQ', '271.5', '2026-01-05T15:00:00.000Z'));
    await pubsub.publish('quotes', 'NSE:RELIANCE', msg('RELIANCE', 'NSE', '1546', '2026-01-05T09:15:01.000Z'));
    expect(cache.get('AAPL', 'NASDAQ')?.last).toBe('271.5');
    expect(cache.get('RELIANCE', 'NSE')?.last).toBe('1546');
    expect(cache.size).toBe(2);
    await cache.stop();
  });

  it('never replaces a newer quote with an older one (late delivery, or a snapshot loaded after a live tick)', async () => {
    const pubsub = new RecordingPubSub();
    const snapshot: LatestQuoteSnapshot = {
      loadLatestQuotes: async () => {
        // A live quote lands while the snapshot is being read.
        await pubsub.publish('quotes', 'NSE:RELIANCE', msg('RELIANCE', 'NSE', '1550', '2026-01-05T09:20:00.000Z'));
        return [msg('RELIANCE', 'NSE', '1540', '2026-01-05T09:19:58.000Z')];
      },
    };
    const cache = new QuoteCache({ snapshot });
    await cache.start(pubsub, [RELIANCE]);
    expect(cache.get('RELIANCE', 'NSE')?.last).toBe('1550');
    await pubsub.publish('quotes', 'NSE:RELIANCE', msg('RELIANCE', 'NSE', '1500', '2026-01-05T09:19:00.000Z'));
    expect(cache.get('RELIANCE', 'NSE')?.last).toBe('1550');
    await cache.stop();
  });

  it('mirrors a feed published through pubsub: every quote reaches listeners, and unsubscribing works', async () => {
    const instruments: FeedInstrument[] = [
      { ...RELIANCE, tickSize: '0.10', lotSize: '1', referencePrice: '1545.60', volatility: '0.22' },
      { ...AAPL, tickSize: '0.01', lotSize: '1', referencePrice: '271.49', volatility: '0.27' },
    ];
    const clock = new ManualClock();
    const feed = new SimulatedFeed({ instruments, seed: 5, clock, tickMs: 1000 });
    const pubsub = new RecordingPubSub();
    feed.onQuote((q) => void pubsub.publish('quotes', `${q.exchange}:${q.symbol}`, toQuoteMessage(q)));
    const cache = new QuoteCache();
    await cache.start(pubsub, instruments);
    const heard: Quote[] = [];
    const off = cache.onQuote((q) => heard.push(q));
    for (let i = 0; i < 20; i++) {
      clock.advance(1000);
      feed.step();
    }
    expect(heard).toHaveLength(40);
    expect(cache.get('AAPL', 'NASDAQ')).toEqual(feed.get('AAPL', 'NASDAQ'));
    expect(cache.get('RELIANCE', 'NSE')).toEqual(feed.get('RELIANCE', 'NSE'));
    off();
    clock.advance(1000);
    feed.step();
    expect(heard).toHaveLength(40);
    expect(cache.get('AAPL', 'NASDAQ')).toEqual(feed.get('AAPL', 'NASDAQ'));

    // After stop(), the cache no longer listens; the last quotes stay readable.
    await cache.stop();
    expect(pubsub.subscriberCount).toBe(0);
    const before = cache.get('AAPL', 'NASDAQ');
    clock.advance(1000);
    feed.step();
    expect(cache.get('AAPL', 'NASDAQ')).toEqual(before);
  });

  it('track() follows an instrument added later, once, and refuses before start', async () => {
    const cache = new QuoteCache();
    await expect(cache.track(AAPL)).rejects.toThrow(/not started/);
    const pubsub = new RecordingPubSub();
    await cache.start(pubsub, [RELIANCE]);
    await Promise.all([cache.track(AAPL), cache.track(AAPL)]);
    expect(pubsub.subscriberCount).toBe(2);
    await pubsub.publish('quotes', 'NASDAQ:AAPL', msg('AAPL', 'NASDAQ', '270', '2026-01-05T15:00:00.000Z'));
    expect(cache.get('AAPL', 'NASDAQ')?.last).toBe('270');
    await expect(cache.start(pubsub, [])).rejects.toThrow(/already started/);
    await cache.stop();
  });
});
