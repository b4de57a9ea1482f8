import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../../db/client.js';
import { BadInputError, InvalidStateError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import { dec, type Decimal } from '../../lib/decimal.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';
import type { PortfolioRow, PortfolioService } from '../portfolio.service.js';
import { allocateBuys, minimumInvestment, planExit, planInvestment, planRebalance, reserveFor, type CostModel, type HeldLine, type Plan } from './planner.js';
import type { BasketRunRow, BasketRunService, RunRequest } from './basket-run.service.js';
import { BelowMinimumInvestmentError, type SmallcaseRow, type SmallcaseService } from './smallcase.service.js';
import { InvestmentRepository, type HoldingRow, type InvestmentRow, type InvestmentStatus } from './investment.repository.js';
import type { RunLine } from './run-placer.js';
import type { RunOrderView } from './run-summary.js';

const MAX_AMOUNT = dec('1000000000');

export interface ValuedHolding {
  instrumentId: string;
  quantity: string;
  averageCost: string;
  targetQuantity: string;
  marketValue: string | null;
  currentWeight: number | null;
  targetWeight: string;
}

/** An amount: a positive decimal with at most 2 places. */
export function checkAmount(raw: string, field = 'amount'): Decimal {
  let a: Decimal;
  try {
    a = dec(raw);
  } catch {
    throw new BadInputError('amount must be a decimal number', field, 'INVALID_AMOUNT');
  }
  if (!a.isFinite() || a.lte(0)) throw new BadInputError('amount must be greater than zero', field, 'INVALID_AMOUNT');
  if (a.decimalPlaces() > 2) throw new BadInputError('amount has more than 2 decimal places', field, 'INVALID_AMOUNT');
  if (a.gt(MAX_AMOUNT)) throw new BadInputError(`amount must be at most ${MAX_AMOUNT.toFixed()}`, field, 'INVALID_AMOUNT');
  return a;
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

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      instruments: InstrumentService;
      portfolios: PortfolioService;
      smallcases: SmallcaseService;
      runs: BasketRunService;
      cost: (p: PortfolioRow) => CostModel;
      minTicket: (currency: string) => Decimal;
    },
  ) {
    this.repo = new InvestmentRepository(deps.db);
    deps.runs.setHooks({
      onCompleted: (tx, run, orders, status) => this.onRunCompleted(tx, run, orders, status),
      onBuysPlaced: (tx, run, placed) => this.onBuysPlaced(tx, run, placed),
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

  private async getForTrading(viewer: Principal, id: string): Promise<{ inv: InvestmentRow; portfolio: PortfolioRow }> {
    const inv = await this.get(viewer, id);
    // The viewer may read it (else `get` said NOT_FOUND): a reader who may not trade (the owner's advisor, an admin) is FORBIDDEN.
    const portfolio = await this.deps.portfolios.getForTrading(viewer, inv.portfolioId);
    return { inv, portfolio };
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

  private price(inst: InstrumentRow): { last: Decimal; bid: Decimal; ask: Decimal } {
    const q = this.deps.instruments.quoteOf(inst);
    if (!q) throw new BadInputError(`No market price for ${inst.symbol} yet`, 'symbol', 'NO_MARKET_PRICE');
    return { last: dec(q.last), bid: dec(q.bid ?? q.last), ask: dec(q.ask ?? q.last) };
  }

  // ---- invest ----

  /** For investing the portfolio must be the viewer's to trade; for a preview (a read) one they may read. */
  private async investable(viewer: Principal, smallcaseId: string, portfolioId: string, forPreview = false) {
    const sc = await this.deps.smallcases.get(viewer, smallcaseId);
    const portfolio = forPreview ? await this.deps.portfolios.get(viewer, portfolioId) : await this.deps.portfolios.getForTrading(viewer, portfolioId);
    if (sc.archived) throw new InvalidStateError('The smallcase is archived');
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
        onCompleted: (tx, r, orders, status) => this.onRunCompleted(tx, r, orders, status),
      },
    );
    return (await this.repo.byId(run.investmentId!))!;
  }

  // ---- actions on an investment ----

  private async heldLines(inv: InvestmentRow, version: number, quantities?: Map<string, Decimal>): Promise<{ held: HeldLine[]; insts: Map<string, InstrumentRow> }> {
    const holdings = await this.repo.holdings(inv.id);
    const cons = await this.deps.smallcases.constituents(inv.smallcaseId, version);
    const weight = new Map(cons.map((c) => [c.instrumentId, dec(c.weight)]));
    const ids = [...new Set([...holdings.map((h) => h.instrumentId), ...cons.map((c) => c.instrumentId)])];
    const insts = new Map((await this.deps.instruments.byIds(ids)).map((i) => [i.id, i]));
    const qty = new Map(holdings.map((h) => [h.instrumentId, quantities?.get(h.instrumentId) ?? dec(h.quantity)]));
    const held = ids
      .map((id) => {
        const inst = insts.get(id)!;
        const p = this.price(inst);
        return { instrumentId: id, quantity: qty.get(id) ?? dec(0), price: p.last, bid: p.bid, ask: p.ask, lotSize: dec(inst.lotSize), weight: weight.get(id) ?? dec(0) };
      })
      .filter((h) => h.quantity.gt(0) || h.weight.gt(0));
    return { held, insts };
  }

  private async rebalancePlan(inv: InvestmentRow, portfolio: PortfolioRow, sc: SmallcaseRow) {
    const { held, insts } = await this.heldLines(inv, sc.version);
    const tp = planRebalance(held, dec(0), this.deps.minTicket(portfolio.baseCurrency), this.deps.cost(portfolio));
    return { tp, held, insts };
  }

  async previewRebalance(viewer: Principal, investmentId: string): Promise<Plan> {
    const inv = await this.get(viewer, investmentId);
    const portfolio = await this.deps.portfolios.get(viewer, inv.portfolioId);
    const sc = await this.smallcaseOf(inv);
    return (await this.rebalancePlan(inv, portfolio, sc)).tp.plan;
  }

  /** The investment's smallcase, even if its owner has since made it private (the investor keeps seeing it). */
  async smallcaseOf(inv: InvestmentRow): Promise<SmallcaseRow> {
    return this.deps.smallcases.byId(inv.smallcaseId);
  }

  private requireState(inv: InvestmentRow, allowed: InvestmentStatus[], action: string, status?: InvestmentStatus): void {
    const s = status ?? inv.status;
    if (!allowed.includes(s)) throw new InvalidStateError(`Cannot ${action} an investment that is ${s}`, { status: s });
  }

  /** REBALANCE to the smallcase's current version: sells over target now, buys with what they raise. */
  async rebalance(viewer: Principal, investmentId: string, clientRequestId?: string | null): Promise<BasketRunRow> {
    const hash = ['REBALANCE', investmentId].join('|');
    const prior = await this.deps.runs.replay(viewer.userId, clientRequestId, hash);
    if (prior) return prior;
    const { inv, portfolio } = await this.getForTrading(viewer, investmentId);
    await this.checkNotInFlight(inv);
    this.requireState(inv, ['ACTIVE', 'NEEDS_REPAIR'], 'rebalance', await this.effectiveStatus(inv));
    const sc = await this.smallcaseOf(inv);
    const { tp, held, insts } = await this.rebalancePlan(inv, portfolio, sc);
    const now = this.deps.clock.now();
    const targets = new Map(held.map((h) => [h.instrumentId, h.quantity]));
    for (const s of tp.sells) targets.set(s.instrumentId, targets.get(s.instrumentId)!.sub(s.quantity));
    return this.deps.runs.place(viewer, {
      ...this.request(inv, 'REBALANCE', clientRequestId, hash),
      sells: tp.sells.map((s) => ({ instrument: insts.get(s.instrumentId)!, side: 'SELL', quantity: s.quantity })),
      buysNow: [],
      buyWants: tp.buyWants,
      minTicket: this.deps.minTicket(portfolio.baseCurrency),
    }, {
      onCreated: async (tx) => {
        await this.repo.setTargets(tx, inv.id, targets, now);
        await this.repo.setStatus(tx, inv.id, 'PLACING', now, { version: sc.version, lastRebalancedAt: now });
      },
      onCompleted: (tx, run, orders, status) => this.onRunCompleted(tx, run, orders, status),
    });
  }

  /** INVEST_MORE: buys of `amount`, aimed at the weights of the investment's version (reduces drift too). */
  async investMore(viewer: Principal, investmentId: string, rawAmount: string, clientRequestId?: string | null): Promise<BasketRunRow> {
    const amount = checkAmount(rawAmount);
    const hash = ['INVEST_MORE', investmentId, amount.toFixed()].join('|');
    const prior = await this.deps.runs.replay(viewer.userId, clientRequestId, hash);
    if (prior) return prior;
    const { inv, portfolio } = await this.getForTrading(viewer, investmentId);
    await this.checkNotInFlight(inv);
    this.requireState(inv, ['ACTIVE'], 'invest more in', await this.effectiveStatus(inv));
    const { held, insts } = await this.heldLines(inv, inv.version);
    const cost = this.deps.cost(portfolio);
    const total = held.reduce((a, h) => a.add(h.quantity.mul(h.price)), dec(0)).add(amount);
    const wants = held
      .filter((h) => h.weight.gt(0))
      .map((h) => ({ instrumentId: h.instrumentId, price: h.ask, lotSize: h.lotSize, targetValue: Decimal0(total.mul(h.weight).sub(h.quantity.mul(h.price))) }));
    const alloc = allocateBuys(amount, wants, cost);
    const lines: RunLine[] = wants.map((w, i) => ({ instrument: insts.get(w.instrumentId)!, side: 'BUY' as const, quantity: alloc.quantities[i], price: w.price })).filter((l) => l.quantity.gt(0));
    if (lines.length === 0) {
      const min = wants.reduce((m, w) => { const r = reserveFor(w.lotSize, w.price, cost); return m === null || r.lt(m) ? r : m; }, null as Decimal | null);
      throw new BelowMinimumInvestmentError((min ?? dec(0)).toDecimalPlaces(2, 0).toFixed(2));
    }
    const now = this.deps.clock.now();
    const targets = new Map(held.map((h) => [h.instrumentId, h.quantity]));
    for (const l of lines) targets.set(l.instrument.id, targets.get(l.instrument.id)!.add(l.quantity));
    return this.deps.runs.place(viewer, { ...this.request(inv, 'INVEST_MORE', clientRequestId, hash), sells: [], buysNow: lines, buyWants: [] }, {
      onCreated: async (tx) => {
        await this.repo.setTargets(tx, inv.id, targets, now);
        await this.repo.setStatus(tx, inv.id, 'PLACING', now);
      },
      onCompleted: (tx, run, orders, status) => this.onRunCompleted(tx, run, orders, status),
    });
  }

  /** EXIT a fraction (0 < fraction ≤ 1) of every holding, keeping the weights; 1 sells everything. */
  async exit(viewer: Principal, investmentId: string, rawFraction: string, clientRequestId?: string | null): Promise<BasketRunRow> {
    let fraction: Decimal;
    try {
      fraction = dec(rawFraction);
    } catch {
      throw new BadInputError('fraction must be a decimal', 'fraction', 'INVALID_FRACTION');
    }
    if (!fraction.isFinite() || fraction.lte(0) || fraction.gt(1)) throw new BadInputError('fraction must be greater than 0 and at most 1', 'fraction', 'INVALID_FRACTION');
    const hash = ['EXIT', investmentId, fraction.toFixed()].join('|');
    const prior = await this.deps.runs.replay(viewer.userId, clientRequestId, hash);
    if (prior) return prior;
    const { inv } = await this.getForTrading(viewer, investmentId);
    await this.checkNotInFlight(inv);
    const status = await this.effectiveStatus(inv);
    this.requireState(inv, ['ACTIVE', 'NEEDS_REPAIR', 'OUT_OF_SYNC'], 'exit', status);
    const covered = status === 'OUT_OF_SYNC' ? await this.covered(inv) : undefined;
    const { held, insts } = await this.heldLines(inv, inv.version, covered);
    const sells = planExit(held, fraction);
    const now = this.deps.clock.now();
    const targets = new Map(held.map((h) => [h.instrumentId, h.quantity]));
    for (const s of sells) targets.set(s.instrumentId, targets.get(s.instrumentId)!.sub(s.quantity));
    return this.deps.runs.place(viewer, { ...this.request(inv, 'EXIT', clientRequestId, hash), sells: sells.map((s) => ({ instrument: insts.get(s.instrumentId)!, side: 'SELL', quantity: s.quantity })), buysNow: [], buyWants: [] }, {
      onCreated: async (tx) => {
        if (covered) await this.repo.setQuantities(tx, inv.id, covered, now);
        await this.repo.setTargets(tx, inv.id, targets, now);
        await this.repo.setStatus(tx, inv.id, 'PLACING', now);
      },
      onCompleted: (tx, run, orders, s) => this.onRunCompleted(tx, run, orders, s),
    });
  }

  /** Holdings cut down to what the portfolio still covers (each instrument's shortfall taken from this investment). */
  private async covered(inv: InvestmentRow, tx: Db | Tx = this.deps.db): Promise<Map<string, Decimal>> {
    const deficits = await this.repo.deficits(inv.portfolioId, tx);
    const out = new Map<string, Decimal>();
    for (const h of await this.repo.holdings(inv.id, tx)) {
      const short = deficits.get(h.instrumentId);
      if (short) out.set(h.instrumentId, Decimal0(dec(h.quantity).sub(short)));
    }
    return out;
  }

  /** REPAIR: place what is missing to reach the target quantities (after writing an out-of-sync investment down). */
  async repair(viewer: Principal, investmentId: string, clientRequestId?: string | null): Promise<BasketRunRow> {
    const hash = ['REPAIR', investmentId].join('|');
    const prior = await this.deps.runs.replay(viewer.userId, clientRequestId, hash);
    if (prior) return prior;
    const { inv } = await this.getForTrading(viewer, investmentId);
    await this.checkNotInFlight(inv);
    const status = await this.effectiveStatus(inv);
    this.requireState(inv, ['NEEDS_REPAIR', 'OUT_OF_SYNC'], 'repair', status);
    const covered = await this.covered(inv);
    const holdings = await this.repo.holdings(inv.id);
    const insts = new Map((await this.deps.instruments.byIds(holdings.map((h) => h.instrumentId))).map((i) => [i.id, i]));
    const sells: RunLine[] = [];
    const buys: RunLine[] = [];
    for (const h of holdings) {
      const have = covered.get(h.instrumentId) ?? dec(h.quantity);
      const diff = dec(h.targetQuantity).sub(have);
      if (diff.gt(0)) buys.push({ instrument: insts.get(h.instrumentId)!, side: 'BUY', quantity: diff });
      else if (diff.lt(0)) sells.push({ instrument: insts.get(h.instrumentId)!, side: 'SELL', quantity: diff.neg() });
    }
    const now = this.deps.clock.now();
    return this.deps.runs.place(
      viewer,
      {
        ...this.request(inv, 'REPAIR', clientRequestId, hash),
        sells,
        buysNow: sells.length ? [] : buys,
        buyWants: sells.length ? buys.map((b) => ({ instrumentId: b.instrument.id, price: dec(0), lotSize: dec(b.instrument.lotSize), targetValue: b.quantity.mul(this.price(b.instrument).ask), maxQuantity: b.quantity })) : [],
        useAvailableCash: true,
      },
      {
        onCreated: async (tx) => {
          await this.repo.setQuantities(tx, inv.id, covered, now);
          await this.repo.setStatus(tx, inv.id, 'PLACING', now);
        },
        onCompleted: (tx, run, orders, s) => this.onRunCompleted(tx, run, orders, s),
      },
    );
  }

  private request(inv: InvestmentRow, kind: RunRequest['kind'], clientRequestId: string | null | undefined, requestHash: string) {
    return { portfolioId: inv.portfolioId, kind, investmentId: inv.id, clientRequestId, requestHash };
  }

  private async checkNotInFlight(inv: InvestmentRow): Promise<void> {
    const active = await this.deps.runs.activeRunOf(this.deps.db, inv.id);
    if (active) throw new InvalidStateError('Another run of this investment is still in flight', { runId: active.id });
  }

  // ---- run hooks (inside the run's transactions) ----

  private async onBuysPlaced(tx: Tx, run: BasketRunRow, placed: { instrumentId: string; quantity: string }[]): Promise<void> {
    if (!run.investmentId || placed.length === 0 || run.kind !== 'REBALANCE') return;
    const holdings = new Map((await this.repo.holdings(run.investmentId, tx)).map((h) => [h.instrumentId, h]));
    const targets = new Map<string, Decimal>();
    for (const o of placed) targets.set(o.instrumentId, dec(holdings.get(o.instrumentId)?.targetQuantity ?? 0).add(o.quantity));
    await this.repo.setTargets(tx, run.investmentId, targets, this.deps.clock.now());
  }

  private async onRunCompleted(tx: Tx, run: BasketRunRow, orders: RunOrderView[], status: 'COMPLETED' | 'PARTIAL' | 'FAILED'): Promise<void> {
    if (!run.investmentId) return;
    const inv = await this.repo.byId(run.investmentId, tx);
    if (!inv) return;
    const now = this.deps.clock.now();
    const after = await this.repo.applyFills(tx, inv, orders, now);
    let next: InvestmentStatus = status === 'COMPLETED' ? 'ACTIVE' : 'NEEDS_REPAIR';
    if (run.kind === 'EXIT' && after.every((h) => dec(h.quantity).isZero())) next = 'EXITED';
    if (run.kind === 'REBALANCE' && status === 'COMPLETED') {
      // Rounding and skipped small tickets leave targets at what was actually reached.
      await this.repo.setTargets(tx, inv.id, new Map(after.map((h) => [h.instrumentId, dec(h.quantity)])), now);
    }
    await this.repo.setStatus(tx, inv.id, next, now);
  }
}

function Decimal0(a: Decimal): Decimal {
  return a.isNegative() ? dec(0) : a;
}
