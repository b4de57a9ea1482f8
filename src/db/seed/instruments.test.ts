import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from 'drizzle-orm';
import { dec, isMultipleOf } from '../../lib/decimal.js';
import { nseTickSize, usTickSize } from '../../market/tick-size.js';
import { migrate, openDb, type DbHandle } from '../client.js';
import { instruments } from '../schema/instruments.js';
import { SEED_INSTRUMENTS, seedInstruments } from './instruments.js';

describe('SEED_INSTRUMENTS', () => {
  it('lists at least 40 instruments across the Indian and US markets', () => {
    expect(SEED_INSTRUMENTS.length).toBeGreaterThanOrEqual(40);
    const exchanges = new Set(SEED_INSTRUMENTS.map((i) => i.exchange));
    expect(exchanges.has('NSE')).toBe(true);
    expect(exchanges.has('NASDAQ')).toBe(true);
    expect(exchanges.has('NYSE')).toBe(true);
    expect(exchanges.has('NYSEARCA')).toBe(true);
    expect(SEED_INSTRUMENTS.filter((i) => i.exchange === 'NSE').length).toBeGreaterThanOrEqual(20);
    expect(SEED_INSTRUMENTS.filter((i) => i.exchange !== 'NSE').length).toBeGreaterThanOrEqual(20);
  });

  it('has unique (symbol, exchange) pairs', () => {
    const keys = SEED_INSTRUMENTS.map((i) => `${i.exchange}:${i.symbol}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('puts every reference price on its tick grid, above zero', () => {
    for (const i of SEED_INSTRUMENTS) {
      expect(dec(i.referencePrice).gt(0), i.symbol).toBe(true);
      expect(isMultipleOf(i.referencePrice, i.tickSize), `${i.symbol} ${i.referencePrice} / ${i.tickSize}`).toBe(true);
    }
  });

  it("uses the exchange's tick rule for the reference price", () => {
    for (const i of SEED_INSTRUMENTS) {
      const expected = i.exchange === 'NSE' ? nseTickSize(i.referencePrice, i.assetClass) : usTickSize(i.referencePrice);
      expect(dec(i.tickSize).eq(expected), `${i.symbol}: ${i.tickSize} vs ${expected}`).toBe(true);
    }
  });

  it('quotes NSE in INR and US exchanges in USD', () => {
    for (const i of SEED_INSTRUMENTS) {
      expect(i.currency, i.symbol).toBe(i.exchange === 'NSE' ? 'INR' : 'USD');
    }
  });

  it('has cash-equity lots, sane volatilities and both asset classes', () => {
    for (const i of SEED_INSTRUMENTS) {
      expect(i.lotSize).toBe('1');
      const v = dec(i.volatility);
      expect(v.gt('0.05') && v.lt('1.5'), `${i.symbol} vol ${i.volatility}`).toBe(true);
    }
    expect(SEED_INSTRUMENTS.some((i) => i.assetClass === 'ETF')).toBe(true);
    expect(SEED_INSTRUMENTS.some((i) => i.assetClass === 'EQUITY')).toBe(true);
  });
});

describe('seedInstruments on PGlite', () => {
  let h: DbHandle;
  beforeAll(async () => {
    h = await openDb({ dataDir: 'memory://' });
    await migrate(h);
  });
  afterAll(async () => {
    await h.close();
  });

  it('inserts every instrument once and returns the stored rows', async () => {
    const rows = await seedInstruments(h.db);
    expect(rows).toHaveLength(SEED_INSTRUMENTS.length);
    const reliance = rows.find((r) => r.symbol === 'RELIANCE' && r.exchange === 'NSE');
    expect(reliance?.currency).toBe('INR');
    expect(dec(reliance?.referencePrice ?? '0').eq('1545.60')).toBe(true);
    expect(reliance?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is idempotent: a second run keeps the same ids and adds no rows', async () => {
    const first = await seedInstruments(h.db);
    const second = await seedInstruments(h.db);
    const ids = (rows: typeof first) => new Map(rows.map((r) => [`${r.exchange}:${r.symbol}`, r.id]));
    expect(ids(second)).toEqual(ids(first));
    const [{ n }] = await h.db.select({ n: count() }).from(instruments);
    expect(n).toBe(SEED_INSTRUMENTS.length);
  });
});
