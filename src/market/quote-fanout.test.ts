import { describe, expect, it } from 'vitest';
import type { QuoteMessage } from '../events/topics.js';
import { QuoteFanout, quoteFanout } from './quote-fanout.js';
import { RecordingPubSub } from './recording-pubsub.test-support.js';

function msg(symbol: string, last: string): QuoteMessage {
  return { symbol, exchange: 'NSE', bid: last, ask: last, bidSize: '1', askSize: '1', last, volume: '1', timestamp: '2026-01-05T09:15:00.000Z' };
}

describe('QuoteFanout', () => {
  it('shares one upstream subscription per instrument and hands every listener the same message object', async () => {
    const pubsub = new RecordingPubSub();
    const fanout = new QuoteFanout(pubsub);
    const got: QuoteMessage[][] = [[], [], []];
    const u0 = await fanout.subscribe('NSE:ITC', (q) => got[0].push(q));
    const u1 = await fanout.subscribe('NSE:ITC', (q) => got[1].push(q));
    const u2 = await fanout.subscribe('NSE:TCS', (q) => got[2].push(q));
    expect(pubsub.subscriberCount).toBe(2); // ITC once, TCS once
    expect(fanout.listenerCount('NSE:ITC')).toBe(2);
    await pubsub.publish('quotes', 'NSE:ITC', msg('ITC', '400'));
    expect(got[0]).toHaveLength(1);
    expect(got[1][0]).toBe(got[0][0]);
    expect(got[2]).toHaveLength(0);
    await u0();
    await u0(); // idempotent
    await pubsub.publish('quotes', 'NSE:ITC', msg('ITC', '401'));
    expect(got[0]).toHaveLength(1);
    expect(got[1].map((q) => q.last)).toEqual(['400', '401']);
    expect(pubsub.subscriberCount).toBe(2);
    await u1();
    expect(pubsub.subscriberCount).toBe(1); // the last ITC listener left: upstream released
    expect(fanout.upstreamCount).toBe(1);
    await u2();
    expect(pubsub.subscriberCount).toBe(0);
  });

  it('subscribes a new upstream when a listener arrives after the last one left', async () => {
    const pubsub = new RecordingPubSub();
    const fanout = new QuoteFanout(pubsub);
    const u = await fanout.subscribe('NSE:ITC', () => undefined);
    await u();
    const seen: string[] = [];
    await fanout.subscribe('NSE:ITC', (q) => seen.push(q.last));
    await pubsub.publish('quotes', 'NSE:ITC', msg('ITC', '402'));
    expect(seen).toEqual(['402']);
    expect(pubsub.subscriberCount).toBe(1);
  });

  it('keeps delivering to the others when one listener throws, and is one fan-out per pub/sub', async () => {
    const pubsub = new RecordingPubSub();
    const fanout = quoteFanout(pubsub);
    expect(quoteFanout(pubsub)).toBe(fanout);
    expect(quoteFanout(new RecordingPubSub())).not.toBe(fanout);
    const seen: string[] = [];
    await fanout.subscribe('NSE:ITC', () => {
      throw new Error('boom');
    });
    await fanout.subscribe('NSE:ITC', (q) => seen.push(q.last));
    await pubsub.publish('quotes', 'NSE:ITC', msg('ITC', '403'));
    expect(seen).toEqual(['403']);
  });

  it('times each tick once per instrument: one burst per timestamp, its deliveries counted per subscriber', async () => {
    const pubsub = new RecordingPubSub();
    const fanout = new QuoteFanout(pubsub);
    for (let i = 0; i < 3; i++) await fanout.subscribe('NSE:ITC', () => undefined);
    await fanout.subscribe('NSE:TCS', () => undefined);
    await pubsub.publish('quotes', 'NSE:ITC', msg('ITC', '400'));
    await pubsub.publish('quotes', 'NSE:TCS', msg('TCS', '3000'));
    await pubsub.publish('quotes', 'NSE:ITC', { ...msg('ITC', '401'), timestamp: '2026-01-05T09:15:01.000Z' });
    const bursts = fanout.bursts.recent(Number.POSITIVE_INFINITY);
    expect(bursts.map((b) => [b.at, b.messages, b.deliveries])).toEqual([
      [Date.parse('2026-01-05T09:15:00.000Z'), 2, 4],
      [Date.parse('2026-01-05T09:15:01.000Z'), 1, 3],
    ]);
  });
});
