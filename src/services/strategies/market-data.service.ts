import { and, asc, desc, eq, gte, lt, lte, sql } from 'drizzle-orm';
import type { Principal } from '../../auth/tokens.js';
import { assertAdmin } from '../people/access.policy.js';
import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import { candles } from '../../db/schema/market.js';
import { BadInputError } from '../../errors.js';
import { fmt } from '../../lib/decimal.js';
import type { Bar } from '../../market/history.js';
import { insertBars } from '../../market/history.service.js';
import { parseCandleCsv, type CsvError } from '../../market/candle-csv.js';
import { INTERVAL_CODE, isIntervalName, type IntervalCode, type IntervalName } from '../../market/intervals.js';
import { compileField } from '../../strategies/definition.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';

/** A candle as the API shows it: exact decimals. */
export interface CandleView {
  time: Date;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export interface RangeArgs {
  from?: Date | null;
  to?: Date | null;
  last?: number | null;
}

/** Most candles one request returns, and the default when neither `from` nor `last` is given. */
export const MAX_CANDLES = 10_000;
const DEFAULT_LAST = 500;
const DAY_MS = 86_400_000;

/** What a rule needs replayed before a time (see `CompiledRule.warmup` and `dayAnchored`). */
export interface Warmup {
  warmup: number;
  dayAnchored: boolean;
}

export function intervalCode(name: string, field = 'interval'): IntervalCode {
  if (!isIntervalName(name)) throw new BadInputError(`Unknown interval ${name} (M1, M5, M15, H1, D1)`, field, 'UNKNOWN_INTERVAL');
  return INTERVAL_CODE[name as IntervalName];
}

const toBar = (r: typeof candles.$inferSelect): Bar => ({
  time: r.startsAt.getTime(),
  open: Number(r.open),
  high: Number(r.high),
  low: Number(r.low),
  close: Number(r.close),
  volume: Number(r.volume),
});

/** Stored candles: reads for charts, rules and backtests, and CSV imports. */
export class MarketDataService {
  constructor(private readonly deps: { db: Db; instruments: InstrumentService; clock: Clock }) {}

  private checkRange(r: RangeArgs): void {
    if (r.last != null && (!Number.isInteger(r.last) || r.last < 1 || r.last > MAX_CANDLES)) {
      throw new BadInputError(`last must be between 1 and ${MAX_CANDLES}`, 'last', 'OUT_OF_RANGE');
    }
    // Both ends are inclusive: from == to asks for the one bar that starts then.
    if (r.from && r.to && r.from > r.to) throw new BadInputError('from must not be after to', 'from', 'INVALID_RANGE');
  }

  /** Rows of one instrument and interval: in [from, to], or the `last` ones up to `to`, oldest first. */
  async rows(instrumentId: string, interval: IntervalCode, r: RangeArgs) {
    const where = and(eq(candles.instrumentId, instrumentId), eq(candles.interval, interval), r.from ? gte(candles.startsAt, r.from) : undefined, r.to ? lte(candles.startsAt, r.to) : undefined);
    if (r.from && r.last == null) {
      return this.deps.db.select().from(candles).where(where).orderBy(asc(candles.startsAt)).limit(MAX_CANDLES);
    }
    const rows = await this.deps.db
      .select()
      .from(candles)
      .where(where)
      .orderBy(desc(candles.startsAt))
      .limit(r.last ?? DEFAULT_LAST);
    return rows.reverse();
  }

  /** Bars (numbers) of an instrument, for evaluation. `before` loads the `count` bars before a time. */
  async bars(instrumentId: string, interval: IntervalCode, r: RangeArgs & { max?: number }): Promise<Bar[]> {
    const where = and(eq(candles.instrumentId, instrumentId), eq(candles.interval, interval), r.from ? gte(candles.startsAt, r.from) : undefined, r.to ? lte(candles.startsAt, r.to) : undefined);
    if (r.last != null) {
      const rows = await this.deps.db.select().from(candles).where(where).orderBy(desc(candles.startsAt)).limit(r.last);
      return rows.reverse().map(toBar);
    }
    const rows = await this.deps.db
      .select()
      .from(candles)
      .where(where)
      .orderBy(asc(candles.startsAt))
      .limit(r.max ?? 5_000_000);
    return rows.map(toBar);
  }

  /** How many bars an instrument has in [from, to]. */
  async count(instrumentId: string, interval: IntervalCode, from: Date, to: Date): Promise<number> {
    const [r] = await this.deps.db
      .select({ n: sql<number>`count(*)::int` })
      .from(candles)
      .where(and(eq(candles.instrumentId, instrumentId), eq(candles.interval, interval), gte(candles.startsAt, from), lte(candles.startsAt, to)));
    return Number(r?.n ?? 0);
  }

  /** The `count` bars strictly before `time`, oldest first (indicator warm-up). */
  async barsBefore(instrumentId: string, interval: IntervalCode, time: Date, count: number): Promise<Bar[]> {
    if (count <= 0) return [];
    const rows = await this.deps.db
      .select()
      .from(candles)
      .where(and(eq(candles.instrumentId, instrumentId), eq(candles.interval, interval), lt(candles.startsAt, time)))
      .orderBy(desc(candles.startsAt))
      .limit(count);
    return rows.reverse().map(toBar);
  }

  /**
   * The warm-up of a rule before `time`, oldest first: its `warmup` bars and, for a rule that reads a
   * day-anchored value (`vwap`), also every bar of the UTC day of the first of them, so the first value
   * that matters is the day's and not the window's. On D1 and longer bars the day starts at the bar.
   */
  async warmupBars(instrumentId: string, interval: IntervalCode, time: Date, need: Warmup): Promise<Bar[]> {
    const warm = await this.barsBefore(instrumentId, interval, time, need.warmup);
    if (!need.dayAnchored) return warm;
    return [...(await this.dayOpening(instrumentId, interval, new Date(warm[0]?.time ?? time.getTime()))), ...warm];
  }

  /** The bars of `time`'s UTC day strictly before `time`, oldest first. */
  async dayOpening(instrumentId: string, interval: IntervalCode, time: Date): Promise<Bar[]> {
    const dayStart = new Date(Math.floor(time.getTime() / DAY_MS) * DAY_MS);
    if (dayStart.getTime() === time.getTime()) return [];
    const rows = await this.deps.db
      .select()
      .from(candles)
      .where(and(eq(candles.instrumentId, instrumentId), eq(candles.interval, interval), gte(candles.startsAt, dayStart), lt(candles.startsAt, time)))
      .orderBy(asc(candles.startsAt));
    return rows.map(toBar);
  }

  async candles(symbol: string, exchange: string | null | undefined, interval: string, r: RangeArgs): Promise<CandleView[]> {
    this.checkRange(r);
    const code = intervalCode(interval);
    const inst = await this.deps.instruments.resolve(symbol, exchange);
    const rows = await this.rows(inst.id, code, r);
    return rows.map((c) => ({ time: c.startsAt, open: fmt(c.open, 2), high: fmt(c.high, 2), low: fmt(c.low, 2), close: fmt(c.close, 2), volume: fmt(c.volume) }));
  }

  /**
   * A rule-language expression as a series aligned to the candles of the range; null during warm-up. The
   * expression's indicators are first fed its warm-up bars from before the range, so the first point of
   * the range has the value it would have in a longer series.
   */
  async indicator(symbol: string, exchange: string | null | undefined, interval: string, expression: string, r: RangeArgs): Promise<{ time: Date; value: number | null }[]> {
    this.checkRange(r);
    const code = intervalCode(interval);
    // A number, or a condition (a series of 1 and 0).
    const rule = compileField(expression, 'expression', 'any');
    const inst = await this.deps.instruments.resolve(symbol, exchange);
    const rows = await this.rows(inst.id, code, r);
    if (rows.length === 0) return [];
    const warm = await this.warmupBars(inst.id, code, rows[0]!.startsAt, rule);
    const ev = rule.create();
    for (const b of warm) ev.next(b);
    return rows.map((c) => {
      const v = ev.next(toBar(c));
      return { time: c.startsAt, value: v === null || !Number.isFinite(v) ? null : v };
    });
  }

  /**
   * Import a CSV of bars for one instrument and interval; a bar already stored is replaced. Market
   * history is shared by every user's charts, strategies and backtests: administrators only load it.
   */
  async importCandles(viewer: Principal, symbol: string, exchange: string | null | undefined, interval: string, csv: string): Promise<{ imported: number; skipped: number; errors: CsvError[] }> {
    assertAdmin(viewer);
    const code = intervalCode(interval);
    const inst: InstrumentRow = await this.deps.instruments.resolve(symbol, exchange);
    const { bars, errors } = parseCandleCsv(csv);
    const step = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 }[code];
    const good = [];
    const seen = new Map<number, number>();
    const now = this.deps.clock.now().getTime();
    for (const b of bars) {
      const t = b.time.getTime();
      if (t % step !== 0) {
        errors.push({ line: b.line, message: `time ${b.time.toISOString()} is not the start of a ${code} bar` });
        continue;
      }
      // A bar that has not started yet would become every chart's and screener's latest bar.
      if (t > now) {
        errors.push({ line: b.line, message: `time ${b.time.toISOString()} is in the future` });
        continue;
      }
      // The same bar twice in one file: the later line wins (as a re-import would).
      if (seen.has(t)) good[seen.get(t)!] = null;
      seen.set(t, good.length);
      good.push({ time: t, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume });
    }
    const rows = good.filter((g): g is NonNullable<typeof g> => g !== null);
    await this.deps.db.transaction(async (tx) => {
      await insertBars(tx, inst.id, code, rows);
    });
    errors.sort((a, b) => a.line - b.line);
    return { imported: rows.length, skipped: errors.length, errors };
  }
}
