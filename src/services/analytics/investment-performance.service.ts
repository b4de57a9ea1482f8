import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { basketRunOrders, basketRuns, fills, orders, smallcaseConstituents, smallcaseVersions } from '../../db/schema/index.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import { BadInputError } from '../../errors.js';
import type { InvestmentService } from '../baskets/investment.service.js';
import { computePerformance, type PerformanceResult } from './metrics.js';
import type { BenchmarkClose, ValuePoint } from './returns.js';
import { investmentEvents, smallcaseIndex, type IndexVersion } from './investment.js';
import { resolveWindow } from './range.js';
import type { PerformanceArgs } from './performance.service.js';
import { addDays, buildValuations, dayOf, dayStart, valuationDays } from './valuation.js';
import type { ValuationRepository } from './valuation.repository.js';

/**
 * `investmentPerformance`: one smallcase investment's value series (its holdings from its own runs'
 * fills, at daily closes) against the smallcase's own index (beta, alpha and `benchmarkReturn`).
 * Computed on request from fills and candles; nothing stored.
 */
export class InvestmentPerformanceService {
  constructor(private readonly deps: { db: Db; clock: Clock; investments: InvestmentService; repo: ValuationRepository; riskFreeRate: number }) {}

  async performance(viewer: Principal, investmentId: string, args: Omit<PerformanceArgs, 'benchmark'>): Promise<PerformanceResult> {
    const inv = await this.deps.investments.get(viewer, investmentId);
    const now = this.deps.clock.now();
    const today = dayOf(now);
    const window = resolveWindow(args, now);

    const rows = await this.deps.db
      .select({ at: fills.executedAt, instrumentId: orders.instrumentId, side: orders.side, quantity: fills.quantity, price: fills.price, fee: fills.fee })
      .from(fills)
      .innerJoin(orders, eq(orders.id, fills.orderId))
      .innerJoin(basketRunOrders, eq(basketRunOrders.orderId, orders.id))
      .innerJoin(basketRuns, eq(basketRuns.id, basketRunOrders.runId))
      .where(eq(basketRuns.investmentId, inv.id));
    const versionRows = await this.deps.db.select().from(smallcaseVersions).where(eq(smallcaseVersions.smallcaseId, inv.smallcaseId));
    const constituentRows = await this.deps.db.select().from(smallcaseConstituents).where(and(eq(smallcaseConstituents.smallcaseId, inv.smallcaseId)));
    const versions: IndexVersion[] = versionRows.map((v) => ({
      version: v.version,
      indexBase: v.indexBase,
      from: dayOf(v.createdAt),
      constituents: constituentRows.filter((c) => c.version === v.version).map((c) => ({ instrumentId: c.instrumentId, weight: c.weight, basePrice: c.basePrice })),
    }));

    const { cash, trades } = investmentEvents(rows);
    const firstDay = [...trades.map((t) => t.day)].sort()[0] ?? null;
    if (window.custom && (firstDay === null ? window.to < today : window.to < firstDay)) {
      throw new BadInputError(`the range ends before the investment's first fill (${firstDay ?? 'none yet'})`, 'to', 'BEFORE_INCEPTION');
    }
    const start = firstDay ?? today;
    const instrumentIds = [...new Set([...trades.map((t) => t.instrumentId), ...constituentRows.map((c) => c.instrumentId)])];
    const closes = await this.deps.repo.dailyCloses(instrumentIds, addDays(start, -1), window.to);
    const days = valuationDays(start, window.to, [...trades.map((t) => t.day), ...closes.map((c) => c.day).filter((d) => d >= start)]);
    const values = buildValuations({ days, cash, trades, closes });
    const index = smallcaseIndex(days, versions, closes);

    // The window: the close before its first day is the base; without one, nothing before the first fill.
    let firstIn = window.from ? values.findIndex((v) => v.day >= window.from!) : 0;
    if (firstIn === -1) firstIn = values.length;
    const baseIdx = firstIn > 0 ? firstIn - 1 : -1;
    const kept = values.slice(baseIdx >= 0 ? baseIdx : 0).filter((v) => v.day <= window.to);
    const points: ValuePoint[] = kept.map((v) => ({ time: dayStart(v.day), value: v.value.toFixed(), netFlow: v.netFlow.toFixed() }));
    if (baseIdx < 0 && points.length > 0) points.unshift({ time: dayStart(addDays(kept[0]!.day, -1)), value: '0', netFlow: '0' });
    if (points.length === 0) points.push({ time: dayStart(window.to), value: '0', netFlow: '0' });
    const benchmark: BenchmarkClose[] = index.filter((x) => x.value !== null).map((x) => ({ time: dayStart(x.day), close: x.value!.toFixed() }));
    return computePerformance({ points, benchmark, riskFreeRate: this.deps.riskFreeRate });
  }
}
