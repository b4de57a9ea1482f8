import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { importedActivities, pooledMembers, positions } from '../../db/schema/index.js';
import { BadInputError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import { dec, fmt, toDb } from '../../lib/decimal.js';
import { lockPortfolio } from '../../events/outbox.js';
import { postLedger } from '../ledger.js';
import type { InstrumentService, InstrumentRow } from '../instrument.service.js';
import type { PortfolioService } from '../portfolio.service.js';
import { ActivityInputError, applyTrade, cashLines, findOversell, parseActivities, type ActivityInputLike } from './activities.js';
import type { ValuationService } from './valuation.service.js';

export interface ImportOutcome {
  imported: number;
  skipped: number;
  errors: { line: number; message: string }[];
}

export const MAX_ACTIVITIES_PER_IMPORT = 10_000;

/**
 * `importActivities`: history from another tracker. Every line is validated first (the first bad one is
 * BAD_USER_INPUT with its `line`); then, in one transaction, lines already imported are skipped and the
 * rest post their cash to the ledger at their own dates, move positions and are remembered by
 * fingerprint. Valuations are then rebuilt from the earliest new date.
 */
export class ActivityImportService {
  constructor(
    private readonly deps: { db: Db; clock: Clock; instruments: InstrumentService; portfolios: PortfolioService; valuations: ValuationService },
  ) {}

  async import(viewer: Principal, portfolioId: string, input: readonly ActivityInputLike[]): Promise<ImportOutcome> {
    const portfolio = await this.deps.portfolios.getForTrading(viewer, portfolioId);
    // A pooled member's positions and cash move only through the pool's orders (and deposits and
    // withdrawals): the pool's broker account holds the sum of its members' positions, so an imported
    // position would be sellable through the pool without ever having been bought by it.
    const [member] = await this.deps.db.select({ id: pooledMembers.portfolioId }).from(pooledMembers).where(eq(pooledMembers.portfolioId, portfolioId));
    if (member) throw new BadInputError('A pooled member portfolio cannot import activities: its positions and cash move only through the pool', 'portfolioId', 'POOLED_MEMBER');
    if (input.length > MAX_ACTIVITIES_PER_IMPORT) {
      throw new BadInputError(`at most ${MAX_ACTIVITIES_PER_IMPORT} activities per import`, 'activities', 'TOO_MANY');
    }
    const parsed = parseActivities(input, this.deps.clock.now());

    // Instruments, checked per line (unknown symbol, another currency).
    const instrumentOf = new Map<number, InstrumentRow>();
    for (const a of parsed) {
      if (!a.symbol) continue;
      let inst: InstrumentRow;
      try {
        inst = await this.deps.instruments.resolve(a.symbol, a.exchange);
      } catch (err) {
        if (err instanceof BadInputError) {
          const d = err.details as { field?: string; reason?: string };
          throw new ActivityInputError(a.line, d.field ?? 'symbol', d.reason ?? 'UNKNOWN_SYMBOL', err.message);
        }
        throw err;
      }
      if (inst.currency !== portfolio.baseCurrency) {
        throw new ActivityInputError(a.line, 'symbol', 'CURRENCY_MISMATCH', `${inst.symbol} trades in ${inst.currency}, the portfolio in ${portfolio.baseCurrency}`);
      }
      instrumentOf.set(a.line, inst);
    }

    const outcome = await this.deps.db.transaction(async (tx) => {
      if (!(await lockPortfolio(tx, portfolioId))) throw new NotFoundError('Portfolio', portfolioId);
      const known = new Set<string>();
      const fps = parsed.map((a) => a.fingerprint);
      for (let i = 0; i < fps.length; i += 1000) {
        const rows = await tx
          .select({ fp: importedActivities.fingerprint })
          .from(importedActivities)
          .where(and(eq(importedActivities.portfolioId, portfolioId), inArray(importedActivities.fingerprint, fps.slice(i, i + 1000))));
        for (const r of rows) known.add(r.fp);
      }
      const fresh = parsed.filter((a) => !known.has(a.fingerprint));
      if (fresh.length === 0) return { imported: 0, skipped: parsed.length, earliest: null };

      // No sell of more than is held at its date (existing fills and imports included).
      const trades = fresh.filter((a) => a.type === 'BUY' || a.type === 'SELL');
      if (trades.length > 0) {
        const existing = await this.deps.valuations.repo.tradeEvents(tx, portfolioId);
        const over = findOversell(
          existing.map((e) => ({ instrumentId: e.instrumentId, at: e.at, quantity: dec(e.quantity) })),
          trades.map((a) => ({ instrumentId: instrumentOf.get(a.line)!.id, at: a.at, line: a.line, quantity: a.type === 'BUY' ? a.quantity! : a.quantity!.neg() })),
        );
        if (over) {
          const a = parsed[over.line - 1]!;
          throw new ActivityInputError(over.line, 'quantity', 'INSUFFICIENT_QUANTITY_AT_DATE', `sells ${fmt(a.quantity!)} ${a.symbol} on ${a.day} when ${fmt(over.held)} is held`, {
            held: fmt(over.held),
          });
        }
      }

      // Cash: one ledger posting per activity, dated at the activity.
      const ordered = [...fresh].sort((x, y) => x.at.getTime() - y.at.getTime() || x.line - y.line);
      for (const a of ordered) await postLedger(tx, portfolioId, portfolio.baseCurrency, cashLines(a), a.at);

      // Positions: apply the new trades in date order on top of the current rows.
      const byInstrument = new Map<string, typeof ordered>();
      for (const a of ordered.filter((x) => x.type === 'BUY' || x.type === 'SELL')) {
        const id = instrumentOf.get(a.line)!.id;
        byInstrument.set(id, [...(byInstrument.get(id) ?? []), a]);
      }
      const now = this.deps.clock.now();
      for (const [instrumentId, list] of byInstrument) {
        const [row] = await tx.select().from(positions).where(and(eq(positions.portfolioId, portfolioId), eq(positions.instrumentId, instrumentId))).for('update');
        let pos = { quantity: dec(row?.quantity ?? 0), averageCost: dec(row?.averageCost ?? 0), realizedPnl: dec(row?.realizedPnl ?? 0) };
        for (const a of list) pos = applyTrade(pos, a.type as 'BUY' | 'SELL', a.quantity!, a.price!);
        const values = { quantity: toDb(pos.quantity), averageCost: toDb(pos.averageCost), realizedPnl: toDb(pos.realizedPnl), updatedAt: now };
        await tx
          .insert(positions)
          .values({ portfolioId, instrumentId, ...values })
          .onConflictDoUpdate({ target: [positions.portfolioId, positions.instrumentId], set: values });
      }

      for (let i = 0; i < ordered.length; i += 500) {
        await tx.insert(importedActivities).values(
          ordered.slice(i, i + 500).map((a) => ({
            portfolioId,
            fingerprint: a.fingerprint,
            occurredAt: a.at,
            type: a.type,
            instrumentId: instrumentOf.get(a.line)?.id ?? null,
            quantity: a.quantity ? toDb(a.quantity) : null,
            price: a.price ? toDb(a.price) : null,
            amount: a.amount ? toDb(a.amount) : null,
            fee: toDb(a.fee),
          })),
        );
      }
      return { imported: fresh.length, skipped: parsed.length - fresh.length, earliest: ordered[0]!.day };
    });

    if (outcome.earliest) await this.deps.valuations.backfill(portfolioId, { from: outcome.earliest });
    return { imported: outcome.imported, skipped: outcome.skipped, errors: [] };
  }
}
