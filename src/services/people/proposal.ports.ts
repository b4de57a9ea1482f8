import { and, eq, inArray } from 'drizzle-orm';
import { NotFoundError } from '../../errors.js';
import type { BasketServices } from '../baskets/index.js';
import type { Db } from '../../db/client.js';
import { instruments, portfolios, positions } from '../../db/schema/index.js';
import type { Principal } from '../../auth/tokens.js';
import type { InstrumentService } from '../instrument.service.js';
import { dec, type Decimal } from '../../lib/decimal.js';
import type { RiskLevel } from './profile.service.js';
import type { PortfolioSnapshot } from './suitability.js';

/** A smallcase as proposals need it. */
export interface SmallcaseView {
  id: string;
  name: string;
  riskLevel: RiskLevel | null;
  constituents: { symbol: string; exchange: string; instrumentId: string; weight: string }[];
}

/** Reads smallcases the viewer may use (their own or public). */
export interface SmallcaseReader {
  get(viewer: Principal, id: string): Promise<SmallcaseView | null>;
}

/** Places the basket run of an approved smallcase proposal (the basket service, when present). */
export interface BasketRunPort {
  invest(viewer: Principal, req: { smallcaseId: string; portfolioId: string; amount: string; clientRequestId: string }): Promise<{ runId: string }>;
}

/** Smallcases and basket runs through the basket services (smallcases have no risk level yet: null). */
export class BasketAdapters implements SmallcaseReader, BasketRunPort {
  constructor(private readonly deps: { baskets: BasketServices; instruments: InstrumentService }) {}

  async get(viewer: Principal, id: string): Promise<SmallcaseView | null> {
    let sc;
    try {
      sc = await this.deps.baskets.smallcases.get(viewer, id);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
    const cs = await this.deps.baskets.smallcases.constituents(sc.id, sc.version);
    const insts = new Map((await this.deps.instruments.byIds(cs.map((c) => c.instrumentId))).map((i) => [i.id, i]));
    return {
      id: sc.id,
      name: sc.name,
      riskLevel: null,
      constituents: cs.map((c) => ({ symbol: insts.get(c.instrumentId)!.symbol, exchange: insts.get(c.instrumentId)!.exchange, instrumentId: c.instrumentId, weight: c.weight })),
    };
  }

  async invest(viewer: Principal, req: { smallcaseId: string; portfolioId: string; amount: string; clientRequestId: string }): Promise<{ runId: string }> {
    const inv = await this.deps.baskets.investments.invest(viewer, req.smallcaseId, req.portfolioId, req.amount, req.clientRequestId);
    const runs = await this.deps.baskets.runs.runsOfInvestment(inv.id);
    return { runId: runs[runs.length - 1].id };
  }
}

/** Cash plus positions at market, per portfolio, in two queries (for one proposal or a thousand). */
export async function portfolioSnapshots(db: Db, instrumentService: InstrumentService, portfolioIds: string[]): Promise<Map<string, PortfolioSnapshot>> {
  const out = new Map<string, PortfolioSnapshot>();
  if (portfolioIds.length === 0) return out;
  const cash = await db.select({ id: portfolios.id, cash: portfolios.cash }).from(portfolios).where(inArray(portfolios.id, portfolioIds));
  for (const c of cash) out.set(c.id, { totalValue: dec(c.cash), holdings: new Map() });
  const rows = await db
    .select({ portfolioId: positions.portfolioId, quantity: positions.quantity, symbol: instruments.symbol, exchange: instruments.exchange })
    .from(positions)
    .innerJoin(instruments, eq(instruments.id, positions.instrumentId))
    .where(and(inArray(positions.portfolioId, portfolioIds)));
  for (const r of rows) {
    const snap = out.get(r.portfolioId);
    const last = instrumentService.quoteOf(r)?.last;
    if (!snap || !last || dec(r.quantity).isZero()) continue;
    const v = dec(r.quantity).mul(last);
    snap.totalValue = snap.totalValue.add(v);
    snap.holdings.set(r.symbol.toUpperCase(), (snap.holdings.get(r.symbol.toUpperCase()) ?? dec(0)).add(v));
  }
  return out;
}

export function priceOf(instrumentService: InstrumentService, row: { symbol: string; exchange: string }): Decimal | null {
  const q = instrumentService.quoteOf(row);
  return q ? dec(q.last) : null;
}
