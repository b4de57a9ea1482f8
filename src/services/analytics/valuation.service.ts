import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { ValuationRepository, rowsOf } from './valuation.repository.js';
import { addDays, buildValuations, dayOf, dayStart, valuationDays, type Day } from './valuation.js';

/**
 * Daily valuations: the close-of-day job over every portfolio (one set-based statement) and backfills
 * of one portfolio from its ledger, fills, imported activities and candle history.
 */
export class ValuationService {
  readonly repo: ValuationRepository;
  constructor(private readonly deps: { db: Db; clock: Clock; logger: Logger }) {
    this.repo = new ValuationRepository(deps.db);
  }

  /**
   * Rebuild one portfolio's valuations from `from` (default: its first activity) to `to` (default:
   * today). Returns the number of days written. Idempotent.
   */
  async backfill(portfolioId: string, opts: { from?: Day; to?: Day } = {}): Promise<number> {
    const now = this.deps.clock.now();
    const cash = await this.repo.cashEvents(this.deps.db, portfolioId);
    const trades = await this.repo.tradeEvents(this.deps.db, portfolioId);
    const eventDays = [...cash.map((c) => c.day), ...trades.map((t) => t.day)].sort();
    if (eventDays.length === 0) return 0;
    const first = eventDays[0]!;
    const from = opts.from && opts.from > first ? opts.from : first;
    const to = opts.to ?? dayOf(now);
    if (from > to) return 0;
    const instrumentIds = [...new Set(trades.map((t) => t.instrumentId))];
    const closes = await this.repo.dailyCloses(instrumentIds, from, to);
    // Days: weekdays, days with activity, and days with a daily close of something held.
    const days = valuationDays(from, to, [...eventDays, ...closes.map((c) => c.day)]);
    const rows = buildValuations({ days, cash, trades, closes });
    await this.repo.upsert(portfolioId, rows, now);
    return rows.length;
  }

  /**
   * The close-of-day valuation of every portfolio for `day` (default today) in one statement: current
   * cash, positions at the latest quote of that day, else the last candle close at or before it
   * (carried), else their average cost (missing); the day's deposits and withdrawals as the flow.
   * Idempotent (upsert per portfolio and day), so a second leader or a rerun does no harm.
   */
  async valueAll(day: Day = dayOf(this.deps.clock.now())): Promise<number> {
    const now = this.deps.clock.now();
    const start = dayStart(day).toISOString();
    const end = dayStart(addDays(day, 1)).toISOString();
    const res = await this.deps.db.execute<{ n: number }>(sql`
      with held as (
        select distinct instrument_id from positions where quantity <> 0
      ), px as (
        select h.instrument_id,
               coalesce(q.last, c.close) as price,
               (q.last is null and c.close is not null and c.starts_at < ${start}::timestamptz) as carried,
               (q.last is null and c.close is null) as missing
        from held h
        left join latest_quotes q on q.instrument_id = h.instrument_id
             and q.updated_at >= ${start}::timestamptz and q.updated_at < ${end}::timestamptz
        left join lateral (
          select close, starts_at from candles
          where instrument_id = h.instrument_id and interval in ('1d', '1m') and starts_at < ${end}::timestamptz
          order by starts_at desc limit 1
        ) c on true
      ), pv as (
        select pos.portfolio_id,
               sum(pos.quantity * coalesce(px.price, pos.average_cost)) as v,
               count(*) filter (where px.carried)::int as carried,
               count(*) filter (where px.missing)::int as missing
        from positions pos join px on px.instrument_id = pos.instrument_id
        where pos.quantity <> 0
        group by pos.portfolio_id
      ), flows as (
        select portfolio_id, sum(amount) as f from ledger_entries
        where kind in ('DEPOSIT', 'WITHDRAWAL') and created_at >= ${start}::timestamptz and created_at < ${end}::timestamptz
        group by portfolio_id
      ), ins as (
        insert into portfolio_valuations (portfolio_id, day, cash, positions_value, value, net_flow, carried_prices, missing_prices, computed_at)
        select p.id, ${day}::date, p.cash, coalesce(pv.v, 0), p.cash + coalesce(pv.v, 0), coalesce(flows.f, 0),
               coalesce(pv.carried, 0), coalesce(pv.missing, 0), ${now.toISOString()}::timestamptz
        from portfolios p
        left join pv on pv.portfolio_id = p.id
        left join flows on flows.portfolio_id = p.id
        on conflict (portfolio_id, day) do update set
          cash = excluded.cash, positions_value = excluded.positions_value, value = excluded.value,
          net_flow = excluded.net_flow, carried_prices = excluded.carried_prices,
          missing_prices = excluded.missing_prices, computed_at = excluded.computed_at
        returning 1
      )
      select count(*)::int as n from ins`);
    const n = Number(rowsOf<{ n: number }>(res)[0]?.n ?? 0);
    this.deps.logger.info({ day, portfolios: n }, 'daily valuations written');
    return n;
  }
}
