import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { migrate, openDb, type DbHandle } from '../db/client.js';
import { instruments } from '../db/schema/instruments.js';
import { SEED_INSTRUMENTS, seedInstruments } from '../db/seed/instruments.js';
import { MarketRepository, type CandleRow, type MarketInstrument } from './market.repository.js';
import type { Quote } from './quote.js';

describe('MarketRepository on PGlite', () => {
  let h: DbHandle;
  let repo: MarketRepository;
  let list: MarketInstrument[];
  const byKey = (symbol: string, exchange: string) => list.find((i) => i.symbol === symbol && i.exchange === exchange)!;

  beforeAll(async () => {
    h = await openDb({ dataDir: 'memory://' });
    await migrate(h);
    await seedInstruments(h.db);
    repo = new MarketRepository(h.db);
    list = await repo.loadInstruments();
  });
  afterAll(async () => {
    await h.close();
  });

  it('loads instruments with trimmed decimal text, and leaves out untradable ones unless asked', async () => {
    expect(list).toHaveLength(SEED_INSTRUMENTS.length);
    expect(byKey('RELIANCE', 'NSE')).toMatchObject({ tickSize: '0.1', lotSize: '1', referencePrice: '1545.6', volatility: '0.22', currency: 'INR', tradable: true });
    expect(byKey('AAPL', 'NASDAQ').id).toMatch(/^[0-9a-f-]{36}$/);
    await h.db.update(instruments).set({ tradable: false }).where(eq(instruments.symbol, 'KO'));
    try {
      expect((await repo.loadInstruments()).some((i) => i.symbol === 'KO')).toBe(false);
      expect((await repo.loadInstruments({ tradableOnly: false })).some((i) => i.symbol === 'KO')).toBe(true);
    } finally {
      await h.db.update(instruments).set({ tradable: true }).where(eq(instruments.symbol, 'KO'));
    }
  });

  it('upserts candles: a second segment of the same minute merges into the stored bar', async () => {
    const inst = byKey('TCS', 'NSE');
    const startsAt = new Date('2026-01-05T09:15:00Z');
    const base: Omit<CandleRow, 'open' | 'high' | 'low' | 'close' | 'volume'> = { instrumentId: inst.id, symbol: 'TCS', exchange: 'NSE', interval: '1m', startsAt };
    expect(await repo.upsertCandles([{ ...base, open: '3215.4', high: '3220', low: '3210.1', close: '3212.3', volume: '500' }])).toBe(1);
    await repo.upsertCandles([
      { ...base, open: '3212.5', high: '3219', low: '3205.2', close: '3208', volume: '120' },
      // Same minute twice in one batch: merged before the statement runs.
      { ...base, open: '3208', high: '3225.5', low: '3207', close: '3224.9', volume: '30' },
      { ...base, startsAt: new Date('2026-01-05T09:16:00Z'), open: '3224.9', high: '3226', low: '3224', close: '3225', volume: '10' },
    ]);
    const rows = await repo.loadCandles(inst.id);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ startsAt, open: '3215.4', high: '3225.5', low: '3205.2', close: '3224.9', volume: '650' });
    expect(rows[1]).toMatchObject({ open: '3224.9', close: '3225', volume: '10' });
    expect(await repo.loadCandles(inst.id, { from: new Date('2026-01-05T09:16:00Z') })).toHaveLength(1);
    expect(await repo.upsertCandles([])).toBe(0);
  });

  it('upserts latest quotes for many instruments at once, never replacing a newer quote with an older one', async () => {
    const q = (symbol: string, exchange: string, last: string, timestamp: string, extra: Partial<Quote> = {}): Quote => ({
      symbol,
      exchange,
      bid: last,
      ask: last,
      bidSize: '100',
      askSize: '200',
      last,
      volume: '1000',
      timestamp,
      ...extra,
    });
    const rows = [
      { instrumentId: byKey('AAPL', 'NASDAQ').id, quote: q('AAPL', 'NASDAQ', '271.5', '2026-01-05T15:00:00.000Z', { bid: '271.49', ask: '271.51' }) },
      { instrumentId: byKey('INFY', 'NSE').id, quote: q('INFY', 'NSE', '1612.3', '2026-01-05T05:00:00.000Z', { bid: null, ask: null, volume: null }) },
      { instrumentId: byKey('SPY', 'NYSEARCA').id, quote: q('SPY', 'NYSEARCA', '681.32', '2026-01-05T15:00:00.000Z') },
    ];
    expect(await repo.upsertLatestQuotes(rows)).toBe(3);
    // Newer for AAPL, older for SPY (must be ignored), same batch.
    await repo.upsertLatestQuotes([
      { instrumentId: byKey('AAPL', 'NASDAQ').id, quote: q('AAPL', 'NASDAQ', '272', '2026-01-05T15:00:01.000Z') },
      { instrumentId: byKey('SPY', 'NYSEARCA').id, quote: q('SPY', 'NYSEARCA', '600', '2026-01-05T14:59:00.000Z') },
    ]);
    const latest = await repo.loadLatestQuotes();
    expect(latest).toHaveLength(3);
    const find = (s: string) => latest.find((x) => x.symbol === s)!;
    expect(find('AAPL')).toEqual(q('AAPL', 'NASDAQ', '272', '2026-01-05T15:00:01.000Z'));
    expect(find('SPY').last).toBe('681.32');
    expect(find('INFY')).toMatchObject({ bid: null, ask: null, volume: null, last: '1612.3', bidSize: '100' });
  });
});
