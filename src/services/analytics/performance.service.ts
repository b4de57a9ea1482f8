import { and, eq, gte, inArray, lt, lte } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { candles, ledgerEntries, portfolios, users } from '../../db/schema/index.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import { Decimal, ZERO, dec } from '../../lib/decimal.js';
import type { InstrumentService } from '../instrument.service.js';
import type { PortfolioService } from '../portfolio.service.js';
import { isUuid } from '../people/access.policy.js';
import { computePerformance, type PerformanceResult } from './metrics.js';
import type { BenchmarkClose, ValuePoint } from './returns.js';
import { resolveWindow, type PerformanceRangeName } from './range.js';
import { addDays, dayOf, dayStart, type Day } from './valuation.js';
import type { ValuationService } from './valuation.service.js';

export interface PerformanceArgs {
  range?: PerformanceRangeName | null;
  from?: Date | null;
  to?: Date | null;
  benchmark?: string | null;
}

/**
 * `performance` for a portfolio, and for an advisor's book (the sum of the clients' portfolios in one
 * currency): stored daily valuations, today's point from live quotes, metrics from the pure module.
 */
export class PerformanceService {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      instruments: InstrumentService;
      portfolios: PortfolioService;
      valuations: ValuationService;
      riskFreeRate: number;
    },
  ) {}

  async portfolio(viewer: Principal, portfolioId: string, args: PerformanceArgs): Promise<PerformanceResult> {
    // History older than the stored valuations (never valued, or traded before the daily job ran):
    // build the missing days now from the ledger, fills, imports and candles. The access check and
    // these two reads run together (one round trip, not two); nothing is returned unless access passes.
    const repo = this.deps.valuations.repo;
    if (!isUuid(portfolioId)) throw new NotFoundError('Portfolio', portfolioId);
    const firsts = Promise.all([repo.firstDay([portfolioId]), repo.firstActivityDay(portfolioId)]);
    firsts.catch(() => undefined); // awaited below; marked handled in case the access check throws first
    await this.deps.portfolios.get(viewer, portfolioId);
    const [stored, activity] = await firsts;
    let first = stored;
    if (activity !== null && (first === null || activity < first)) {
      await this.deps.valuations.backfill(portfolioId);
      first = await repo.firstDay([portfolioId]);
    }
    return this.over([portfolioId], args, first);
  }

  /** Rebuild a portfolio's valuations on demand (its owner or an admin). */
  async backfill(viewer: Principal, portfolioId: string, from: Date | null): Promise<number> {
    await this.deps.portfolios.getForTrading(viewer, portfolioId);
    if (from && Number.isNaN(from.getTime())) throw new BadInputError('from is not a valid date', 'from', 'INVALID_DATE');
    if (from && from.getTime() > this.deps.clock.now().getTime()) throw new BadInputError('from is in the future', 'from', 'IN_FUTURE');
    return this.deps.valuations.backfill(portfolioId, from ? { from: dayOf(from) } : {});
  }

  /** An advisor's book (an advisor: their own; an admin: anyone's), over the clients' portfolios in `currency`. */
  async advisorBook(viewer: Principal, advisorId: string, currency: string, args: PerformanceArgs): Promise<PerformanceResult> {
    if (viewer.role !== 'ADMIN' && !(viewer.role === 'ADVISOR' && viewer.userId === advisorId)) {
      if (viewer.role === 'CLIENT') throw new ForbiddenError('Only advisors and admins see advisor books');
      throw new NotFoundError('Advisor', advisorId);
    }
    const clients = this.deps.db.select({ id: users.id }).from(users).where(eq(users.advisorId, advisorId));
    const rows = await this.deps.db
      .select({ id: portfolios.id })
      .from(portfolios)
      .where(and(inArray(portfolios.ownerId, clients), eq(portfolios.baseCurrency, currency.trim().toUpperCase())));
    return this.over(
      rows.map((r) => r.id),
      args,
    );
  }

  /** Performance of the sum of some portfolios (one currency), exposed for other services (investments). */
  async over(portfolioIds: string[], args: PerformanceArgs, knownFirst?: Day | null): Promise<PerformanceResult> {
    const now = this.deps.clock.now();
    const window = resolveWindow(args, now);
    const bench = args.benchmark ? await this.benchmarkInstrument(args.benchmark) : null;
    const repo = this.deps.valuations.repo;
    const today = dayOf(now);
    const first = knownFirst !== undefined ? knownFirst : await repo.firstDay(portfolioIds);
    // A custom range that ends before the first valuation has nothing to measure.
    if (window.custom && (first === null ? window.to < today : window.to < first)) {
      throw new BadInputError(`the range ends before the first valuation (${first ?? 'none yet'})`, 'to', 'BEFORE_INCEPTION');
    }
    // The stored series and today's live value are independent reads: run them together.
    const stored = (async () => {
      const baseDay = window.from ? await repo.lastDayBefore(portfolioIds, window.from) : null;
      const from = baseDay ?? first ?? today;
      // One portfolio (the common case): its points packed in one row; several: rows summed by day.
      let points: ValuePoint[];
      if (portfolioIds.length === 1) points = await repo.series(portfolioIds[0]!, from, window.to);
      else points = sumByDay(portfolioIds, await repo.range(portfolioIds, from, window.to));
      return { baseDay, points };
    })();
    const livePromise = window.to === today && portfolioIds.length > 0 ? this.liveValue(portfolioIds, today) : Promise.resolve(null);
    const [{ baseDay, points }, live] = await Promise.all([stored, livePromise]);
    // No close before the window: the series starts from nothing the day before the first valuation.
    if (!baseDay && points.length > 0) points.unshift({ time: dayStart(addDays(dayOf(points[0]!.time), -1)), value: '0', netFlow: '0' });
    {
      if (live) {
        if (points.length > 0 && dayOf(points[points.length - 1]!.time) === today) points.pop();
        if (points.length === 0) points.push({ time: dayStart(addDays(today, -1)), value: '0', netFlow: '0' });
        points.push(live);
      }
    }
    if (points.length === 0) points.push({ time: dayStart(window.to), value: '0', netFlow: '0' });
    const benchmark = bench ? await this.benchmarkCloses(bench, dayOf(points[0]!.time), window.to, today) : undefined;
    return computePerformance({ points, benchmark, riskFreeRate: this.deps.riskFreeRate });
  }

  /** Today's value from live quotes (cash + positions at their last price); null if a position has no quote. */
  private async liveValue(portfolioIds: string[], today: Day): Promise<ValuePoint | null> {
    let value: Decimal = ZERO;
    // Every portfolio's cash and positions in one statement, each portfolio from one snapshot.
    const details = await this.deps.portfolios.detailsMany(portfolioIds);
    for (const id of portfolioIds) {
      const d = details.get(id);
      if (!d) continue;
      value = value.add(d.balances.cash);
      for (const p of d.positions) {
        if (dec(p.quantity).isZero()) continue;
        if (p.marketValue === null) return null;
        value = value.add(p.marketValue);
      }
    }
    const flows = await this.deps.db
      .select({ amount: ledgerEntries.amount })
      .from(ledgerEntries)
      .where(
        and(
          inArray(ledgerEntries.portfolioId, portfolioIds),
          inArray(ledgerEntries.kind, ['DEPOSIT', 'WITHDRAWAL']),
          gte(ledgerEntries.createdAt, dayStart(today)),
          lt(ledgerEntries.createdAt, dayStart(addDays(today, 1))),
        ),
      );
    const netFlow = flows.reduce((s, f) => s.add(f.amount), ZERO);
    return { time: dayStart(today), value: value.toFixed(), netFlow: netFlow.toFixed() };
  }

  private async benchmarkInstrument(raw: string) {
    const [a, b] = raw.includes(':') ? raw.split(':', 2) : [null, raw];
    try {
      return await this.deps.instruments.resolve(b!, a);
    } catch (err) {
      if (err instanceof BadInputError) throw new BadInputError(`Unknown benchmark ${raw}`, 'benchmark', 'UNKNOWN_BENCHMARK');
      throw err;
    }
  }

  /** The benchmark's daily closes ('1d' bars, with the last one before the window to align), plus today's quote. */
  private async benchmarkCloses(inst: { id: string; symbol: string; exchange: string }, from: Day, to: Day, today: Day): Promise<BenchmarkClose[]> {
    const rows = await this.deps.db
      .select({ time: candles.startsAt, close: candles.close })
      .from(candles)
      .where(and(eq(candles.instrumentId, inst.id), eq(candles.interval, '1d'), gte(candles.startsAt, dayStart(addDays(from, -10))), lte(candles.startsAt, dayStart(to))));
    const out: BenchmarkClose[] = rows.map((r) => ({ time: r.time, close: r.close }));
    if (to === today) {
      const q = this.deps.instruments.quoteOf(inst);
      if (q) out.push({ time: dayStart(today), close: q.last });
    }
    return out;
  }
}

/** Sum valuations per day over portfolios, carrying each portfolio's last value across days it lacks. */
export function sumByDay(portfolioIds: string[], rows: { portfolioId: string; day: string; value: string; netFlow: string }[]): ValuePoint[] {
  if (portfolioIds.length === 1) return rows.map((r) => ({ time: dayStart(r.day), value: r.value, netFlow: r.netFlow }));
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const byDay = new Map<string, typeof rows>();
  for (const r of rows) byDay.set(r.day, [...(byDay.get(r.day) ?? []), r]);
  const last = new Map<string, Decimal>();
  return days.map((d) => {
    let flow: Decimal = ZERO;
    for (const r of byDay.get(d) ?? []) {
      last.set(r.portfolioId, dec(r.value));
      flow = flow.add(r.netFlow);
    }
    let value: Decimal = ZERO;
    for (const v of last.values()) value = value.add(v);
    return { time: dayStart(d), value: value.toFixed(), netFlow: flow.toFixed() };
  });
}
