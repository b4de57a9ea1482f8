import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { basketRuns, investmentHoldings, positions, smallcaseInvestments } from '../../db/schema/index.js';
import { dec, toDb, type Decimal } from '../../lib/decimal.js';
import type { RunOrderView } from './run-summary.js';

export type InvestmentRow = typeof smallcaseInvestments.$inferSelect;
export type HoldingRow = typeof investmentHoldings.$inferSelect;
export type InvestmentStatus = InvestmentRow['status'];

/** The one place that writes investments and their holdings. */
export class InvestmentRepository {
  constructor(private readonly db: Db) {}

  async byId(id: string, tx: Db | Tx = this.db): Promise<InvestmentRow | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const [r] = await tx.select().from(smallcaseInvestments).where(eq(smallcaseInvestments.id, id)).limit(1);
    return r ?? null;
  }

  async holdings(investmentId: string, tx: Db | Tx = this.db): Promise<HoldingRow[]> {
    return tx.select().from(investmentHoldings).where(eq(investmentHoldings.investmentId, investmentId)).orderBy(investmentHoldings.instrumentId);
  }

  async listForPortfolios(portfolioIds: string[]): Promise<InvestmentRow[]> {
    if (portfolioIds.length === 0) return [];
    return this.db.select().from(smallcaseInvestments).where(inArray(smallcaseInvestments.portfolioId, portfolioIds)).orderBy(smallcaseInvestments.createdAt);
  }

  async insert(tx: Tx, row: typeof smallcaseInvestments.$inferInsert): Promise<void> {
    await tx.insert(smallcaseInvestments).values(row);
  }

  async setStatus(tx: Tx, id: string, status: InvestmentStatus, now: Date, extra: Partial<InvestmentRow> = {}): Promise<void> {
    await tx.update(smallcaseInvestments).set({ status, updatedAt: now, ...extra }).where(eq(smallcaseInvestments.id, id));
  }

  /** Set what the investment means to hold of each instrument (rows created as needed). */
  async setTargets(tx: Tx, investmentId: string, targets: Map<string, Decimal>, now: Date): Promise<void> {
    if (targets.size === 0) return;
    await tx
      .insert(investmentHoldings)
      .values([...targets].map(([instrumentId, q]) => ({ investmentId, instrumentId, quantity: '0', averageCost: '0', targetQuantity: toDb(q), updatedAt: now })))
      .onConflictDoUpdate({ target: [investmentHoldings.investmentId, investmentHoldings.instrumentId], set: { targetQuantity: sql`excluded.target_quantity`, updatedAt: now } });
  }

  /** Write holdings down to what the portfolio still covers (repair of an out-of-sync investment). */
  async setQuantities(tx: Tx, investmentId: string, quantities: Map<string, Decimal>, now: Date): Promise<void> {
    for (const [instrumentId, q] of quantities) {
      await tx
        .update(investmentHoldings)
        .set({ quantity: toDb(q), updatedAt: now })
        .where(and(eq(investmentHoldings.investmentId, investmentId), eq(investmentHoldings.instrumentId, instrumentId)));
    }
  }

  /**
   * Attribute a run's fills to the investment: quantities and average cost per holding, and the net cash
   * put in (buys with fees, less sells net of fees), from the fills' own quantity × price so that it is
   * exactly the cash that moved (an order's average fill price is rounded). Returns the holdings after.
   */
  async applyFills(tx: Tx, inv: InvestmentRow, runOrders: RunOrderView[], now: Date): Promise<HoldingRow[]> {
    const current = new Map((await this.holdings(inv.id, tx)).map((h) => [h.instrumentId, h]));
    let invested = dec(inv.investedAmount);
    const changed = new Map<string, { quantity: Decimal; averageCost: Decimal; target: Decimal }>();
    for (const o of runOrders) {
      const filled = dec(o.filledQuantity);
      if (filled.isZero()) continue;
      const h = changed.get(o.instrumentId) ?? {
        quantity: dec(current.get(o.instrumentId)?.quantity ?? 0),
        averageCost: dec(current.get(o.instrumentId)?.averageCost ?? 0),
        target: dec(current.get(o.instrumentId)?.targetQuantity ?? 0),
      };
      const value = dec(o.filledValue);
      if (o.side === 'BUY') {
        const q1 = h.quantity.add(filled);
        h.averageCost = h.quantity.mul(h.averageCost).add(value).div(q1).toDecimalPlaces(8);
        h.quantity = q1;
        invested = invested.add(value).add(o.feesPaid);
      } else {
        h.quantity = h.quantity.sub(filled);
        if (h.quantity.lte(0)) h.averageCost = dec(0);
        invested = invested.sub(value).add(o.feesPaid);
      }
      changed.set(o.instrumentId, h);
    }
    if (changed.size) {
      await tx
        .insert(investmentHoldings)
        .values([...changed].map(([instrumentId, h]) => ({ investmentId: inv.id, instrumentId, quantity: toDb(h.quantity), averageCost: toDb(h.averageCost), targetQuantity: toDb(h.target), updatedAt: now })))
        .onConflictDoUpdate({
          target: [investmentHoldings.investmentId, investmentHoldings.instrumentId],
          set: { quantity: sql`excluded.quantity`, averageCost: sql`excluded.average_cost`, updatedAt: now },
        });
    }
    await tx.update(smallcaseInvestments).set({ investedAmount: toDb(invested), updatedAt: now }).where(eq(smallcaseInvestments.id, inv.id));
    return this.holdings(inv.id, tx);
  }

  /**
   * Per instrument of a portfolio, how far its position falls short of what its live investments hold
   * (a direct sell ate into an investment's shares). Empty while any run of the portfolio is in flight.
   */
  async deficits(portfolioId: string, tx: Db | Tx = this.db): Promise<Map<string, Decimal>> {
    const [busy] = await tx
      .select({ id: basketRuns.id })
      .from(basketRuns)
      .where(and(eq(basketRuns.portfolioId, portfolioId), inArray(basketRuns.status, ['PLACING', 'SELLING', 'BUYING'])))
      .limit(1);
    if (busy) return new Map();
    const held = await tx
      .select({ instrumentId: investmentHoldings.instrumentId, total: sql<string>`sum(${investmentHoldings.quantity})` })
      .from(investmentHoldings)
      .innerJoin(smallcaseInvestments, eq(smallcaseInvestments.id, investmentHoldings.investmentId))
      .where(and(eq(smallcaseInvestments.portfolioId, portfolioId), ne(smallcaseInvestments.status, 'EXITED')))
      .groupBy(investmentHoldings.instrumentId);
    const pos = new Map(
      (await tx.select().from(positions).where(eq(positions.portfolioId, portfolioId))).map((p) => [p.instrumentId, dec(p.quantity)]),
    );
    const out = new Map<string, Decimal>();
    for (const h of held) {
      const short = dec(h.total).sub(pos.get(h.instrumentId) ?? 0);
      if (short.gt(0)) out.set(h.instrumentId, short);
    }
    return out;
  }
}
