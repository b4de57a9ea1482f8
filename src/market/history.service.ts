import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { candles } from '../db/schema/market.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { generateHistory, type Bar } from './history.js';
import type { IntervalCode } from './intervals.js';
import type { MarketInstrument } from './market.repository.js';

export interface HistoryWriteResult {
  instruments: number;
  bars: number;
  ms: number;
}

/** Bars per insert statement, unless the caller gives another number. */
const CHUNK = 20_000;

/** A Postgres array literal of plain numbers or uuids (no quoting needed for either). */
const arrayLiteral = (values: readonly (string | number)[]) => `{${values.join(',')}}`;

/**
 * Insert bars of one instrument and interval, replacing stored bars of the same start: one statement per
 * 20,000 bars, each column sent as one array (`unnest`), so a first start writes half a million bars in
 * seconds even in PGlite.
 */
/** A bar to write: numbers or exact decimal strings. */
export type BarRow = { [K in keyof Bar]: K extends 'time' ? number : number | string };

export async function insertBars(db: DbOrTx, instrumentId: string, interval: IntervalCode, bars: readonly BarRow[], perStatement = CHUNK): Promise<number> {
  for (let i = 0; i < bars.length; i += perStatement) {
    const part = bars.slice(i, i + perStatement);
    const times = arrayLiteral(part.map((b) => b.time / 1000));
    await db.execute(sql`
      insert into ${candles} (instrument_id, interval, starts_at, open, high, low, close, volume)
      select ${instrumentId}::uuid, ${interval}, to_timestamp(t), o, h, l, c, v
      from unnest(${times}::float8[], ${arrayLiteral(part.map((b) => b.open))}::numeric[], ${arrayLiteral(part.map((b) => b.high))}::numeric[],
                  ${arrayLiteral(part.map((b) => b.low))}::numeric[], ${arrayLiteral(part.map((b) => b.close))}::numeric[],
                  ${arrayLiteral(part.map((b) => b.volume))}::numeric[]) as u(t, o, h, l, c, v)
      on conflict (instrument_id, interval, starts_at) do update
        set open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume`);
  }
  return bars.length;
}

/**
 * Writes deterministic history for every instrument that has none yet (no daily bar): 2 years of daily
 * bars and 30 days of one-minute bars (with 5m, 15m and 1h aggregated from them), ending the day before
 * the clock's today at the instrument's reference price, where the live feed then starts. Idempotent
 * per instrument; an instrument with imported or earlier history is left alone.
 */
export class MarketHistoryService {
  constructor(
    private readonly deps: {
      db: DbOrTx;
      clock: Clock;
      logger: Logger;
      seed: number;
      dailyDays: number;
      minuteDays: number;
      /** Bars per insert statement (default 20,000). */
      barsPerStatement?: number;
    },
  ) {}

  private stopped = false;

  /** Stop after the instrument being written (its daily bars come last, so it is redone next start). */
  stop(): void {
    this.stopped = true;
  }

  async ensure(list: readonly MarketInstrument[]): Promise<HistoryWriteResult> {
    const started = performance.now();
    const rows = await this.deps.db.selectDistinct({ id: candles.instrumentId }).from(candles).where(eq(candles.interval, '1d'));
    const have = new Set(rows.map((r) => r.id));
    let bars = 0;
    let count = 0;
    for (const inst of list) {
      if (have.has(inst.id)) continue;
      if (this.stopped) break;
      const h = generateHistory(inst, {
        seed: this.deps.seed,
        now: this.deps.clock.now(),
        dailyDays: this.deps.dailyDays,
        minuteDays: this.deps.minuteDays,
      });
      // Daily last: its presence marks the instrument as done, so a crash midway is redone next start.
      for (const interval of ['1m', '5m', '15m', '1h', '1d'] as const) bars += await insertBars(this.deps.db, inst.id, interval, h.bars[interval], this.deps.barsPerStatement);
      count++;
    }
    const result = { instruments: count, bars, ms: Math.round(performance.now() - started) };
    if (count > 0) this.deps.logger.info(result, 'market history written');
    return result;
  }
}
