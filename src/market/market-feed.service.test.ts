import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { migrate, openDb, type DbHandle } from '../db/client.js';
import { candles, latestQuotes } from '../db/schema/market.js';
import { SEED_INSTRUMENTS, seedInstruments } from '../db/seed/instruments.js';
import type { QuoteMessage } from '../events/topics.js';
import { ManualClock } from '../lib/clock.js';
import { dec } from '../lib/decimal.js';
import { silentLogger } from '../lib/logger.js';
import { MarketFeedService, type MarketStore } from './market-feed.service.js';
import { MarketRepository } from './market.repository.js';
import { RecordingPubSub } from './recording-pubsub.test-support.js';
import { SimulatedFeed } from './simulated-feed.js';

describe('MarketFeedService', () => {
  let h: DbHandle;
  beforeAll(async () => {
    h = await openDb({ dataDir: 'memory://' });
    await migrate(h);
    await seedInstruments(h.db);
  });
  afterAll(async () => {
    await h.close();
  });

  it('publishes every quote, writes closed 1m candles and latest quotes across a minute boundary, and resumes from them', async () => {
    const clock = new ManualClock(new Date('2026-01-05T09:15:30Z'));
    const pubsub = new RecordingPubSub();
    const service = await MarketFeedService.create({ db: h.db, pubsub, clock, logger: silentLogger, seed: 7, tickMs: 1000 });
    const n = SEED_INSTRUMENTS.length;
    for (let i = 0; i < 90; i++) {
      clock.advance(1000);
      service.feed.step();
    }
    // 09:17:00 now: the 09:15 and 09:16 minutes are closed.
    const first = await service.flush();
    expect(first).toEqual({ candles: 2 * n, quotes: n });

    expect(pubsub.published).toHaveLength(90 * n);
    const relianceMsgs = pubsub.published.filter((p) => p.key === 'NSE:RELIANCE');
    expect(relianceMsgs).toHaveLength(90);
    expect(relianceMsgs.every((p) => p.topic === 'quotes')).toBe(true);
    const lastMsg = relianceMsgs.at(-1)!.payload as QuoteMessage;
    expect(lastMsg).toEqual(service.feed.get('RELIANCE', 'NSE'));

    const rows = await h.db.select().from(candles).where(eq(candles.interval, '1m'));
    expect(rows).toHaveLength(2 * n);
    // The 09:15 five-minute bar so far is the two closed minutes merged.
    const rel = rows.filter((r) => r.instrumentId === rows[0]!.instrumentId).sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
    const [five] = await h.db.select().from(candles).where(eq(candles.interval, '5m')).then((r) => r.filter((x) => x.instrumentId === rel[0]!.instrumentId));
    expect(five!.open).toBe(rel[0]!.open);
    expect(five!.close).toBe(rel[1]!.close);
    expect(dec(five!.volume).eq(dec(rel[0]!.volume).plus(rel[1]!.volume))).toBe(true);
    for (const r of rows) {
      const [o, hi, lo, c] = [r.open, r.high, r.low, r.close].map((x) => dec(x));
      expect(lo.lte(o) && lo.lte(c) && o.lte(hi) && c.lte(hi), `${r.instrumentId} ${r.startsAt.toISOString()}`).toBe(true);
      expect(dec(r.volume).gte(0)).toBe(true);
      expect(r.interval).toBe('1m');
      expect(r.startsAt.getUTCSeconds()).toBe(0);
    }
    expect(rows.some((r) => dec(r.volume).gt(0))).toBe(true);
    const [{ n: quoteRows }] = await h.db.select({ n: count() }).from(latestQuotes);
    expect(quoteRows).toBe(n);

    await service.stop();
    // stop() wrote the partial 09:17 candle.
    const [{ n: afterStop }] = await h.db.select({ n: count() }).from(candles).where(eq(candles.interval, '1m'));
    expect(afterStop).toBe(3 * n);

    // A new service resumes each walk from the stored last price.
    const repo = new MarketRepository(h.db);
    const stored = new Map((await repo.loadLatestQuotes()).map((q) => [`${q.exchange}:${q.symbol}`, q.last]));
    const resumed = await MarketFeedService.create({ db: h.db, pubsub, clock, logger: silentLogger, seed: 8, tickMs: 1000 });
    expect(resumed.feed.get('RELIANCE', 'NSE')?.last).toBe(stored.get('NSE:RELIANCE'));
    expect(resumed.feed.get('AAPL', 'NASDAQ')?.last).toBe(stored.get('NASDAQ:AAPL'));
    await resumed.close();
  });

  it('the candle volume of a closed minute equals the volume the feed traded in it', async () => {
    const repo = new MarketRepository(h.db);
    const [inst] = (await repo.loadInstruments()).filter((i) => i.symbol === 'INFY');
    const clock = new ManualClock(new Date('2026-01-06T04:00:00Z'));
    const feed = new SimulatedFeed({ instruments: [inst], seed: 3, clock, tickMs: 1000 });
    const store: MarketStore = repo;
    const service = new MarketFeedService({ feed, instruments: [inst], store, pubsub: new RecordingPubSub(), clock, logger: silentLogger });
    const volumes: string[] = [];
    for (let i = 0; i < 61; i++) {
      clock.advance(1000);
      volumes.push(feed.step()[0].volume!);
    }
    await service.flush();
    const [c] = await repo.loadCandles(inst.id, { from: new Date('2026-01-06T04:00:00Z'), to: new Date('2026-01-06T04:01:00Z') });
    // Steps 1..59 fall in 04:00 (04:00:01 … 04:00:59); step 60 opens 04:01.
    expect(c.volume).toBe(dec(volumes[58]).toFixed());
    await service.close();
  });

  it('keeps going when publishing fails, and retries a failed database write on the next flush', async () => {
    const repo = new MarketRepository(h.db);
    const list = (await repo.loadInstruments()).slice(0, 3);
    const clock = new ManualClock(new Date('2026-01-07T10:00:00Z'));
    const feed = new SimulatedFeed({ instruments: list, seed: 1, clock, tickMs: 1000 });
    const pubsub = new RecordingPubSub();
    pubsub.failWith = new Error('redis down');
    let failNext = true;
    const store: MarketStore = {
      upsertCandles: (rows) => repo.upsertCandles(rows),
      upsertLatestQuotes: async (rows) => {
        if (failNext) {
          failNext = false;
          throw new Error('db down');
        }
        return repo.upsertLatestQuotes(rows);
      },
    };
    const service = new MarketFeedService({ feed, instruments: list, store, pubsub, clock, logger: silentLogger });
    clock.advance(1000);
    feed.step();
    expect(await service.flush()).toEqual({ candles: 0, quotes: 0 });
    // Nothing new ticked, yet the kept quotes are written now.
    expect(await service.flush()).toEqual({ candles: 0, quotes: 3 });
    const stored = await h.db.select().from(latestQuotes).where(eq(latestQuotes.instrumentId, list[0].id));
    expect(stored[0].updatedAt.toISOString()).toBe('2026-01-07T10:00:01.000Z');
    expect(pubsub.published).toHaveLength(0);
    await service.close();
  });

  it('start() ticks and flushes on timers; stop() clears them and writes what is left', async () => {
    const repo = new MarketRepository(h.db);
    const list = (await repo.loadInstruments()).filter((i) => i.symbol === 'NVDA');
    const clock = new ManualClock(new Date('2026-01-08T15:00:00Z'));
    const feed = new SimulatedFeed({ instruments: list, seed: 1, clock, tickMs: 10 });
    const pubsub = new RecordingPubSub();
    const service = new MarketFeedService({ feed, instruments: list, store: repo, pubsub, clock, logger: silentLogger, flushIntervalMs: 25 });
    service.start();
    service.start();
    await new Promise((r) => setTimeout(r, 120));
    await service.stop();
    expect(feed.running).toBe(false);
    const count1 = pubsub.published.length;
    expect(count1).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 40));
    expect(pubsub.published.length).toBe(count1);
    const [q] = await h.db.select().from(latestQuotes).where(eq(latestQuotes.instrumentId, list[0].id));
    expect(dec(q.last).toFixed()).toBe(feed.get('NVDA', 'NASDAQ')!.last);
    await service.close();
  });
});
