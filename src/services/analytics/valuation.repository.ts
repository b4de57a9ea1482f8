import { and, asc, desc, eq, gte, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { candles, fills, importedActivities, ledgerEntries, orders, portfolioValuations } from '../../db/schema/index.js';
import { toDb } from '../../lib/decimal.js';
import { addDays, dayOf, dayStart, type CashEvent, type DailyClose, type Day, type TradeEvent, type ValuationRow } from './valuation.js';

const DAY_MS = 86_400_000;

export type StoredValuation = typeof portfolioValuations.$inferSelect;

/** Every read and write of valuations and of the history they are built from. */
export class ValuationRepository {
  constructor(private readonly db: Db) {}

  /** Cash movements (the ledger) of a portfolio; deposits and withdrawals are external. */
  async cashEvents(tx: DbOrTx, portfolioId: string): Promise<CashEvent[]> {
    const rows = await tx
      .select({ kind: ledgerEntries.kind, amount: ledgerEntries.amount, at: ledgerEntries.createdAt })
      .from(ledgerEntries)
      .where(eq(ledgerEntries.portfolioId, portfolioId));
    return rows.map((r) => ({ day: dayOf(r.at), amount: r.amount, external: r.kind === 'DEPOSIT' || r.kind === 'WITHDRAWAL' }));
  }

  /** Position changes: fills of orders and imported buys and sells, each with its time. */
  async tradeEvents(tx: DbOrTx, portfolioId: string): Promise<(TradeEvent & { at: Date; imported: boolean })[]> {
    const f = await tx
      .select({ instrumentId: orders.instrumentId, side: orders.side, quantity: fills.quantity, price: fills.price, at: fills.executedAt })
      .from(fills)
      .innerJoin(orders, eq(orders.id, fills.orderId))
      .where(eq(fills.portfolioId, portfolioId));
    const a = await tx
      .select({ instrumentId: importedActivities.instrumentId, type: importedActivities.type, quantity: importedActivities.quantity, price: importedActivities.price, at: importedActivities.occurredAt })
      .from(importedActivities)
      .where(and(eq(importedActivities.portfolioId, portfolioId), inArray(importedActivities.type, ['BUY', 'SELL'])));
    return [
      ...f.map((r) => ({ day: dayOf(r.at), at: r.at, instrumentId: r.instrumentId, quantity: r.side === 'BUY' ? r.quantity : `-${r.quantity}`, price: r.price, imported: false })),
      ...a.map((r) => ({ day: dayOf(r.at), at: r.at, instrumentId: r.instrumentId!, quantity: r.type === 'BUY' ? r.quantity! : `-${r.quantity!}`, price: r.price!, imported: true })),
    ];
  }

  /**
   * Daily closes of the instruments from `from` to `to`: the '1d' bar of a day, else the day's last
   * '1m' bar; plus each instrument's last close before `from` (to carry).
   */
  async dailyCloses(instrumentIds: string[], from: Day, to: Day): Promise<DailyClose[]> {
    if (instrumentIds.length === 0) return [];
    const start = dayStart(from);
    const end = dayStart(addDays(to, 1));
    const daily = await this.db
      .select({ instrumentId: candles.instrumentId, startsAt: candles.startsAt, close: candles.close })
      .from(candles)
      .where(and(inArray(candles.instrumentId, instrumentIds), eq(candles.interval, '1d'), gte(candles.startsAt, start), lt(candles.startsAt, end)));
    const out = new Map<string, DailyClose>();
    for (const r of daily) out.set(`${r.instrumentId}|${dayOf(r.startsAt)}`, { instrumentId: r.instrumentId, day: dayOf(r.startsAt), close: r.close });
    const minute = await this.db.execute<{ instrument_id: string; day: string; close: string }>(sql`
      select distinct on (instrument_id, (starts_at at time zone 'UTC')::date)
             instrument_id, to_char((starts_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day, close::text as close
      from candles
      where interval = '1m' and instrument_id in ${sql`(${sql.join(instrumentIds.map((i) => sql`${i}::uuid`), sql`, `)})`}
        and starts_at >= ${start.toISOString()}::timestamptz and starts_at < ${end.toISOString()}::timestamptz
      order by instrument_id, (starts_at at time zone 'UTC')::date, starts_at desc`);
    for (const r of rowsOf<{ instrument_id: string; day: string; close: string }>(minute)) {
      const k = `${r.instrument_id}|${r.day}`;
      if (!out.has(k)) out.set(k, { instrumentId: r.instrument_id, day: r.day, close: r.close });
    }
    for (const id of instrumentIds) {
      const [prior] = await this.db
        .select({ startsAt: candles.startsAt, close: candles.close })
        .from(candles)
        .where(and(eq(candles.instrumentId, id), inArray(candles.interval, ['1d', '1m']), lt(candles.startsAt, start)))
        .orderBy(desc(candles.startsAt))
        .limit(1);
      if (prior) out.set(`${id}|prior`, { instrumentId: id, day: dayOf(prior.startsAt), close: prior.close });
    }
    return [...out.values()];
  }

  /** Upsert valuations (one statement per 500 rows). */
  async upsert(portfolioId: string, rows: ValuationRow[], now: Date): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500).map((r) => ({
        portfolioId,
        day: r.day,
        cash: toDb(r.cash),
        positionsValue: toDb(r.positionsValue),
        value: toDb(r.value),
        netFlow: toDb(r.netFlow),
        carriedPrices: r.carriedPrices,
        missingPrices: r.missingPrices,
        computedAt: now,
      }));
      await this.db
        .insert(portfolioValuations)
        .values(chunk)
        .onConflictDoUpdate({
          target: [portfolioValuations.portfolioId, portfolioValuations.day],
          set: {
            cash: sql`excluded.cash`,
            positionsValue: sql`excluded.positions_value`,
            value: sql`excluded.value`,
            netFlow: sql`excluded.net_flow`,
            carriedPrices: sql`excluded.carried_prices`,
            missingPrices: sql`excluded.missing_prices`,
            computedAt: sql`excluded.computed_at`,
          },
        });
    }
  }

  /** Valuations of portfolios between two days inclusive, oldest first (value and flow only). */
  async range(portfolioIds: string[], from: Day, to: Day): Promise<{ portfolioId: string; day: string; value: string; netFlow: string }[]> {
    if (portfolioIds.length === 0) return [];
    // Plain SQL and text columns: 2,600 rows for ten years, mapped by neither drizzle nor the driver.
    const ids = sql.join(
      portfolioIds.map((id) => sql`${id}::uuid`),
      sql`, `,
    );
    const res = await this.db.execute(sql`
      select portfolio_id::text as "portfolioId", to_char(day, 'YYYY-MM-DD') as day, value::text as value, net_flow::text as "netFlow"
      from ${portfolioValuations}
      where portfolio_id in (${ids}) and day >= ${from}::date and day <= ${to}::date
      order by day`);
    return rowsOf(res);
  }

  /**
   * One portfolio's valuations from `from` to `to` as chart-ready points, read as ONE row: Postgres packs
   * "epochDay:value:netFlow" per day into a string, so ten years (2,600 days) cost one DataRow to decode
   * and a split, not 2,600 row objects; the day comes as a day number, so no date text is parsed either.
   */
  async series(portfolioId: string, from: Day, to: Day): Promise<{ time: Date; value: string; netFlow: string }[]> {
    const res = await this.db.execute(sql`
      select string_agg((day - date '1970-01-01')::text || ':' || value::text || ':' || net_flow::text, ',' order by day) as s
      from ${portfolioValuations}
      where portfolio_id = ${portfolioId}::uuid and day >= ${from}::date and day <= ${to}::date`);
    const packed = rowsOf<{ s: string | null }>(res)[0]?.s;
    if (!packed) return [];
    return packed.split(',').map((line) => {
      const a = line.indexOf(':');
      const b = line.indexOf(':', a + 1);
      return { time: new Date(Number(line.slice(0, a)) * DAY_MS), value: line.slice(a + 1, b), netFlow: line.slice(b + 1) };
    });
  }

  /** The last valuation day before `day` among the portfolios, or null. */
  async lastDayBefore(portfolioIds: string[], day: Day): Promise<Day | null> {
    if (portfolioIds.length === 0) return null;
    const [r] = await this.db
      .select({ day: sql<string>`max(${portfolioValuations.day})::text` })
      .from(portfolioValuations)
      .where(and(inArray(portfolioValuations.portfolioId, portfolioIds), lt(portfolioValuations.day, day)));
    return r?.day ?? null;
  }

  /** The first valuation day among the portfolios, or null. */
  async firstDay(portfolioIds: string[]): Promise<Day | null> {
    if (portfolioIds.length === 0) return null;
    const [r] = await this.db
      .select({ day: sql<string>`min(${portfolioValuations.day})::text` })
      .from(portfolioValuations)
      .where(inArray(portfolioValuations.portfolioId, portfolioIds));
    return r?.day ?? null;
  }

  /** The day of a portfolio's first ledger line (its history starts there), or null. */
  async firstActivityDay(portfolioId: string): Promise<Day | null> {
    const [r] = await this.db
      .select({ day: sql<string | null>`to_char(min(${ledgerEntries.createdAt}) at time zone 'UTC', 'YYYY-MM-DD')` })
      .from(ledgerEntries)
      .where(eq(ledgerEntries.portfolioId, portfolioId));
    return r?.day ?? null;
  }
}

/** postgres.js returns an array; PGlite an object with `rows`. */
export function rowsOf<T>(res: unknown): T[] {
  if (Array.isArray(res)) return res as T[];
  return ((res as { rows?: T[] }).rows ?? []) as T[];
}
