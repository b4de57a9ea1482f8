import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { instruments } from '../db/schema/instruments.js';
import { candles, latestQuotes } from '../db/schema/market.js';
import { fmt, toDb } from '../lib/decimal.js';
import { mergeCandles, type Candle } from './candle-aggregator.js';
import type { Quote } from './quote.js';
import type { FeedInstrument } from './simulated-feed.js';

/** An instrument as the market code needs it. Decimals are strings with no trailing zeros. */
export interface MarketInstrument extends FeedInstrument {
  id: string;
  currency: string;
  tradable: boolean;
}

/** A closed (or partial) candle bound to its instrument row. */
export interface CandleRow extends Candle {
  instrumentId: string;
}

/** A quote bound to its instrument row, for the latest-quote table. */
export interface LatestQuoteRow {
  instrumentId: string;
  quote: Quote;
}

/** Numeric columns come back as "1545.60000000"; the rest of the code wants "1545.6". */
function num(value: string): string;
function num(value: string | null): string | null;
function num(value: string | null): string | null {
  return value === null ? null : fmt(value);
}

/**
 * Market data persistence: instruments, one-minute candles and the last quote per instrument.
 * Every write is one statement however many rows it carries.
 */
export class MarketRepository {
  constructor(private readonly db: DbOrTx) {}

  /** Instruments ordered by exchange and symbol; `tradableOnly` (default true) leaves out halted ones. */
  async loadInstruments(opts: { tradableOnly?: boolean } = {}): Promise<MarketInstrument[]> {
    const rows = await this.db
      .select()
      .from(instruments)
      .where(opts.tradableOnly === false ? undefined : eq(instruments.tradable, true))
      .orderBy(asc(instruments.exchange), asc(instruments.symbol));
    return rows.map((r) => ({
      id: r.id,
      symbol: r.symbol,
      exchange: r.exchange,
      currency: r.currency,
      tradable: r.tradable,
      tickSize: num(r.tickSize),
      lotSize: num(r.lotSize),
      referencePrice: num(r.referencePrice),
      volatility: num(r.volatility),
    }));
  }

  /**
   * Upsert candles. A row for a minute that is already stored is merged into it (see `mergeCandles`): the
   * stored open stays, high and low widen, close is replaced, volume adds up. So a partial candle flushed
   * at shutdown and the rest of its minute written after a restart make one correct bar. Returns rows written.
   */
  async upsertCandles(rows: readonly CandleRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    // Postgres refuses to touch one row twice in a statement: merge same-minute segments first, in order.
    const merged = new Map<string, CandleRow>();
    for (const r of rows) {
      const k = `${r.instrumentId}|${r.interval}|${r.startsAt.toISOString()}`;
      const prev = merged.get(k);
      merged.set(k, prev ? mergeCandles(prev, r) : r);
    }
    await this.db
      .insert(candles)
      .values(
        [...merged.values()].map((r) => ({
          instrumentId: r.instrumentId,
          interval: r.interval,
          startsAt: r.startsAt,
          open: toDb(r.open),
          high: toDb(r.high),
          low: toDb(r.low),
          close: toDb(r.close),
          volume: toDb(r.volume),
        })),
      )
      .onConflictDoUpdate({
        target: [candles.instrumentId, candles.interval, candles.startsAt],
        set: {
          high: sql`greatest(${candles.high}, excluded.high)`,
          low: sql`least(${candles.low}, excluded.low)`,
          close: sql`excluded.close`,
          volume: sql`${candles.volume} + excluded.volume`,
        },
      });
    return merged.size;
  }

  /** Upsert the latest quote of many instruments in one statement; an older quote never overwrites a newer one. */
  async upsertLatestQuotes(rows: readonly LatestQuoteRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const byInstrument = new Map<string, LatestQuoteRow>();
    for (const r of rows) {
      const prev = byInstrument.get(r.instrumentId);
      if (!prev || Date.parse(r.quote.timestamp) >= Date.parse(prev.quote.timestamp)) byInstrument.set(r.instrumentId, r);
    }
    const opt = (v: string | null) => (v === null ? null : toDb(v));
    await this.db
      .insert(latestQuotes)
      .values(
        [...byInstrument.values()].map(({ instrumentId, quote: q }) => ({
          instrumentId,
          bid: opt(q.bid),
          ask: opt(q.ask),
          bidSize: opt(q.bidSize),
          askSize: opt(q.askSize),
          last: toDb(q.last),
          volume: opt(q.volume),
          updatedAt: new Date(q.timestamp),
        })),
      )
      .onConflictDoUpdate({
        target: latestQuotes.instrumentId,
        set: {
          bid: sql`excluded.bid`,
          ask: sql`excluded.ask`,
          bidSize: sql`excluded.bid_size`,
          askSize: sql`excluded.ask_size`,
          last: sql`excluded.last`,
          volume: sql`excluded.volume`,
          updatedAt: sql`excluded.updated_at`,
        },
        setWhere: sql`excluded.updated_at >= ${latestQuotes.updatedAt}`,
      });
    return byInstrument.size;
  }

  /** Every stored latest quote, as the rest of the product sees quotes (to resume prices, or seed a cache). */
  async loadLatestQuotes(): Promise<Quote[]> {
    const rows = await this.db
      .select({
        symbol: instruments.symbol,
        exchange: instruments.exchange,
        bid: latestQuotes.bid,
        ask: latestQuotes.ask,
        bidSize: latestQuotes.bidSize,
        askSize: latestQuotes.askSize,
        last: latestQuotes.last,
        volume: latestQuotes.volume,
        updatedAt: latestQuotes.updatedAt,
      })
      .from(latestQuotes)
      .innerJoin(instruments, eq(instruments.id, latestQuotes.instrumentId))
      .orderBy(asc(instruments.exchange), asc(instruments.symbol));
    return rows.map((r) => ({
      symbol: r.symbol,
      exchange: r.exchange,
      bid: num(r.bid),
      ask: num(r.ask),
      bidSize: num(r.bidSize),
      askSize: num(r.askSize),
      last: num(r.last),
      volume: num(r.volume),
      timestamp: r.updatedAt.toISOString(),
    }));
  }

  /** Candles of one instrument in [from, to), oldest first. */
  async loadCandles(instrumentId: string, opts: { interval?: string; from?: Date; to?: Date; limit?: number } = {}): Promise<CandleRow[]> {
    const rows = await this.db
      .select({ c: candles, symbol: instruments.symbol, exchange: instruments.exchange })
      .from(candles)
      .innerJoin(instruments, eq(instruments.id, candles.instrumentId))
      .where(
        and(
          eq(candles.instrumentId, instrumentId),
          eq(candles.interval, opts.interval ?? '1m'),
          opts.from ? gte(candles.startsAt, opts.from) : undefined,
          opts.to ? lt(candles.startsAt, opts.to) : undefined,
        ),
      )
      .orderBy(asc(candles.startsAt))
      .limit(opts.limit ?? 10_000);
    return rows.map(({ c, symbol, exchange }) => ({
      instrumentId: c.instrumentId,
      symbol,
      exchange,
      interval: c.interval,
      startsAt: c.startsAt,
      open: num(c.open),
      high: num(c.high),
      low: num(c.low),
      close: num(c.close),
      volume: num(c.volume),
    }));
  }
}
