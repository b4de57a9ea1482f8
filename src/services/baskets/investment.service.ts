import { randomUUID } from 'node:crypto';
import { BadInputError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import { dec, type Decimal } from '../../lib/decimal.js';
import type { InstrumentRow } from '../instrument.service.js';
import type { PortfolioRow } from '../portfolio.service.js';
import { minimumInvestment, planInvestment, type Plan } from './planner.js';
import type { BasketRunRow } from './basket-run.service.js';
import { assertNotArchived, BelowMinimumInvestmentError, type SmallcaseRow } from './smallcase.service.js';
import { InvestmentRepository, type HoldingRow, type InvestmentRow, type InvestmentStatus } from './investment.repository.js';
import { InvestmentActions, type InvestmentDeps } from './investment-actions.js';
import { checkAmount } from './investment-amount.js';
import { InvestmentRunHooks } from './investment-run-hooks.js';
import type { RunLine } from './run-placer.js';

export interface ValuedHolding {
  instrumentId: string;
  quantity: string;
  averageCost: string;
  targetQuantity: string;
  marketValue: string | null;
  currentWeight: number | null;
  targetWeight: string;
}

/**
 * Smallcase investments: a portfolio's holding of one smallcase version, with its own quantities
 * attributed from its own runs' fills (two investments, and direct trades, in one stock stay apart).
 *
 * Direct trades: a user may sell directly shares an investment holds. When the portfolio's position falls
 * below what its live investments hold, those investments read OUT_OF_SYNC; `repairInvestment` writes the
 * investment down to what the portfolio still covers and buys back to its target quantities.
 */
export class InvestmentService {
  readonly repo: InvestmentRepository;
  private readonly hooks: InvestmentRunHooks;
  private readonly actions: InvestmentActions;

  constructor(private readonly deps: InvestmentDeps) {
    this.repo = new InvestmentRepository(deps.db);
    this.hooks = new InvestmentRunHooks({ repo: this.repo, clock: deps.clock });
    this.actions = new InvestmentActions({ ...deps, repo: this.repo, reads: this, hooks: this.hooks });
    deps.runs.setHooks({
      onCompleted: (tx, run, orders, status) => this.hooks.onRunCompleted(tx, run, orders, status),
      onBuysPlaced: (tx, run, placed) => this.hooks.onBuysPlaced(tx, run, placed),
    });
  }

  // ---- reads ----

  /** An investment the viewer may read (via its portfolio); anyone else's is NOT_FOUND. */
  async get(viewer: Principal, id: string): Promise<InvestmentRow> {
    const inv = await this.repo.byId(id);
    if (!inv) throw new NotFoundError('Investment', id);
    await this.deps.portfolios.get(viewer, inv.portfolioId).catch(() => {
      throw new NotFoundError('Investment', id);
    });
    return inv;
  }

  async list(viewer: Principal, portfolioId?: string | null): Promise<InvestmentRow[]> {
    const ids = portfolioId ? [(await this.deps.portfolios.get(viewer, portfolioId)).id] : (await this.deps.portfolios.list(viewer)).map((p) => p.id);
    return this.repo.listForPortfolios(ids);
  }

  holdings(inv: InvestmentRow): Promise<HoldingRow[]> {
    return this.repo.holdings(inv.id);
  }

  /** The stored status, or OUT_OF_SYNC when the portfolio no longer covers what it holds. */
  async effectiveStatus(inv: InvestmentRow): Promise<InvestmentStatus> {
    if (inv.status !== 'ACTIVE' && inv.status !== 'NEEDS_REPAIR') return inv.status;
    const deficits = await this.repo.deficits(inv.portfolioId);
    if (deficits.size === 0) return inv.status;
    const held = await this.repo.holdings(inv.id);
    return held.some((h) => dec(h.quantity).gt(0) && deficits.has(h.instrumentId)) ? 'OUT_OF_SYNC' : inv.status;
  }

  /** Holdings valued at last prices, with current and target weights; drift = max |current − target|. */
  async valuation(inv: InvestmentRow): Promise<{ holdings: ValuedHolding[]; currentValue: Decimal; drift: number }> {
    const rows = await this.repo.holdings(inv.id);
    const cons = await this.deps.smallcases.constituents(inv.smallcaseId, inv.version);
    const weight = new Map(cons.map((c) => [c.instrumentId, c.weight]));
    const insts = new Map((await this.deps.instruments.byIds(rows.map((r) => r.instrumentId))).map((i) => [i.id, i]));
    const live = rows.filter((r) => dec(r.quantity).gt(0) || weight.has(r.instrumentId));
    const values = live.map((r) => {
      const q = this.deps.instruments.quoteOf(insts.get(r.instrumentId)!);
      return q ? dec(r.quantity).mul(q.last) : null;
    });
    const total = values.reduce<Decimal>((a, v) => a.add(v ?? 0), dec(0));
    let drift = 0;
    const holdings = live.map((r, i) => {
      const target = dec(weight.get(r.instrumentId) ?? 0);
      const cw = values[i] && total.gt(0) ? values[i]!.div(total).toNumber() : null;
      drift = Math.max(drift, Math.abs((cw ?? 0) - target.toNumber()));
      return { instrumentId: r.instrumentId, quantity: r.quantity, averageCost: r.averageCost, targetQuantity: r.targetQuantity, marketValue: values[i]?.toFixed(2) ?? null, currentWeight: cw, targetWeight: target.toFixed() };
    });
    return { holdings, currentValue: total, drift };
  }

  /** The investment's smallcase, even if its owner has since made it private (the investor keeps seeing it). */
  async smallcaseOf(inv: InvestmentRow): Promise<SmallcaseRow> {
    return this.deps.smallcases.byId(inv.smallcaseId);
  }

  // ---- invest ----

  /** For investing the portfolio must be the viewer's to trade; for a preview (a read) one they may read. */
  private async investable(viewer: Principal, smallcaseId: string, portfolioId: string, forPreview = false) {
    const sc = await this.deps.smallcases.get(viewer, smallcaseId);
    const portfolio = forPreview ? await this.deps.portfolios.get(viewer, portfolioId) : await this.deps.portfolios.getForTrading(viewer, portfolioId);
    assertNotArchived(sc);
    if (sc.currency !== portfolio.baseCurrency) {
      throw new BadInputError(`The smallcase trades in ${sc.currency}; this portfolio holds ${portfolio.baseCurrency}`, 'portfolioId', 'CURRENCY_MISMATCH');
    }
    return { sc, portfolio };
  }

  private async investPlan(sc: SmallcaseRow, portfolio: PortfolioRow, amount: Decimal): Promise<{ plan: Plan; insts: InstrumentRow[] }> {
    const { weighted, insts } = await this.deps.smallcases.weighted(sc.id, sc.version);
    const cost = this.deps.cost(portfolio);
    const min = minimumInvestment(weighted, cost);
    if (amount.lt(min)) throw new BelowMinimumInvestmentError(min.toFixed(2));
    return { plan: planInvestment(amount, weighted, cost), insts };
  }

  async previewInvestment(viewer: Principal, smallcaseId: string, portfolioId: string, rawAmount: string): Promise<Plan> {
    const amount = checkAmount(rawAmount);
    // A preview is a read: the owner's advisor and admins may preview too (as previewRebalance and previewTargetPortfolio).
    const { sc, portfolio } = await this.investable(viewer, smallcaseId, portfolioId, true);
    return (await this.investPlan(sc, portfolio, amount)).plan;
  }

  /** INVEST: a new investment and its first run (all buys, in one transaction). Same clientRequestId, same investment. */
  async invest(viewer: Principal, smallcaseId: string, portfolioId: string, rawAmount: string, clientRequestId?: string | null): Promise<InvestmentRow> {
    const amount = checkAmount(rawAmount);
    const hash = ['INVEST', smallcaseId, portfolioId, amount.toFixed()].join('|');
    const prior = await this.deps.runs.replay(viewer.userId, clientRequestId, hash);
    if (prior?.investmentId) return (await this.repo.byId(prior.investmentId))!;
    const { sc, portfolio } = await this.investable(viewer, smallcaseId, portfolioId);
    const { plan, insts } = await this.investPlan(sc, portfolio, amount);
    const byId = new Map(insts.map((i) => [i.id, i]));
    const investmentId = randomUUID();
    const now = this.deps.clock.now();
    const lines: RunLine[] = plan.lines.map((l) => ({ instrument: byId.get(l.instrumentId)!, side: 'BUY', quantity: l.quantity, price: l.estimatedPrice }));
    const run = await this.deps.runs.place(
      viewer,
      {
        portfolioId: portfolio.id,
        kind: 'INVEST',
        investmentId,
        clientRequestId,
        requestHash: hash,
        sells: [],
        buysNow: lines,
        buyWants: [],
      },
      {
        beforeRun: async (tx) => {
          await this.repo.insert(tx, { id: investmentId, smallcaseId: sc.id, portfolioId: portfolio.id, userId: viewer.userId, version: sc.version, status: 'PLACING', investedAmount: '0', createdAt: now, updatedAt: now });
          await this.repo.setTargets(tx, investmentId, new Map(insts.map((i) => [i.id, plan.lines.find((l) => l.instrumentId === i.id)?.quantity ?? dec(0)])), now);
        },
        onCompleted: (tx, r, orders, status) => this.hooks.onRunCompleted(tx, r, orders, status),
      },
    );
    return (await this.repo.byId(run.investmentId!))!;
  }

  // ---- actions on an investment (investment-actions.ts) ----

  previewRebalance(viewer: Principal, investmentId: string): Promise<Plan> {
    return this.actions.previewRebalance(viewer, investmentId);
  }

  rebalance(viewer: Principal, investmentId: string, clientRequestId?: string | null): Promise<BasketRunRow> {
    return this.actions.rebalance(viewer, investmentId, clientRequestId);
  }

  investMore(viewer: Principal, investmentId: string, rawAmount: string, clientRequestId?: string | null): Promise<BasketRunRow> {
    return this.actions.investMore(viewer, investmentId, rawAmount, clientRequestId);
  }

  exit(viewer: Principal, investmentId: string, rawFraction: string, clientRequestId?: string | null): Promise<BasketRunRow> {
    return this.actions.exit(viewer, investmentId, rawFraction, clientRequestId);
  }

  repair(viewer: Principal, investmentId: string, clientRequestId?: string | null): Promise<BasketRunRow> {
    return this.actions.repair(viewer, investmentId, clientRequestId);
  }
}
