import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { instruments, portfolios, positions, smallcaseConstituents, smallcases } from '../../db/schema/index.js';
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

/** Reads smallcases the viewer may use (their own or public). Swap for the basket service's when merged. */
export interface SmallcaseReader {
  get(viewer: Principal, id: string): Promise<SmallcaseView | null>;
}

/** Places the basket run of an approved smallcase proposal (the basket service, when present). */
export interface BasketRunPort {
  invest(viewer: Principal, req: { smallcaseId: string; portfolioId: string; amount: string; clientRequestId: string }): Promise<{ runId: string }>;
}

/** The default reader over the smallcase tables (no risk level there yet). */
export class TableSmallcaseReader implements SmallcaseReader {
  constructor(private readonly deps: { db: Db }) {}

  async get(viewer: Principal, id: string): Promise<SmallcaseView | null> {
    const [s] = await this.deps.db.select().from(smallcases).where(eq(smallcases.id, id)).limit(1);
    if (!s || (s.visibility !== 'PUBLIC' && s.ownerId !== viewer.userId)) return null;
    const cs = await this.deps.db
      .select({ symbol: instruments.symbol, exchange: instruments.exchange, instrumentId: instruments.id, weight: smallcaseConstituents.weight })
      .from(smallcaseConstituents)
      .innerJoin(instruments, eq(instruments.id, smallcaseConstituents.instrumentId))
      .where(and(eq(smallcaseConstituents.smallcaseId, id), eq(smallcaseConstituents.version, s.version)));
    return { id: s.id, name: s.name, riskLevel: null, constituents: cs };
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
