import type { Db, Tx } from '../../db/client.js';
import { BadInputError, InvalidStateError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import { dec, type Decimal } from '../../lib/decimal.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';
import type { PortfolioRow, PortfolioService } from '../portfolio.service.js';
import { allocateBuys, planExit, planRebalance, reserveFor, type CostModel, type HeldLine, type Plan } from './planner.js';
import type { BasketRunRow, BasketRunService, RunRequest } from './basket-run.service.js';
import { assertNotArchived, BelowMinimumInvestmentError, type SmallcaseRow, type SmallcaseService } from './smallcase.service.js';
import type { InvestmentRepository, InvestmentRow, InvestmentStatus } from './investment.repository.js';
import { checkAmount } from './investment-amount.js';
import type { InvestmentRunHooks } from './investment-run-hooks.js';
import type { RunLine } from './run-placer.js';

/** What InvestmentService and its actions are given. */
export interface InvestmentDeps {
  db: Db;
  clock: Clock;
  instruments: InstrumentService;
  portfolios: PortfolioService;
  smallcases: SmallcaseService;
  runs: BasketRunService;
  cost: (p: PortfolioRow) => CostModel;
  minTicket: (currency: string) => Decimal;
}

/** The reads of InvestmentService that the actions use (the service passes itself: no import back). */
export interface InvestmentReads {
  get(viewer: Principal, id: string): Promise<InvestmentRow>;
  effectiveStatus(inv: InvestmentRow): Promise<InvestmentStatus>;
  smallcaseOf(inv: InvestmentRow): Promise<SmallcaseRow>;
}

/**
 * The actions on an existing smallcase investment, each one basket run: REBALANCE, INVEST_MORE, EXIT and
 * REPAIR (and the REBALANCE preview). InvestmentService delegates to it.
 */
export class InvestmentActions {
  private readonly repo: InvestmentRepository;

  constructor(
    private readonly deps: InvestmentDeps & {
      repo: InvestmentRepository;
      reads: InvestmentReads;
      hooks: InvestmentRunHooks;
    },
  ) {
    this.repo = deps.repo;
  }

  // ---- actions on an investment ----

  private async getForTrading(viewer: Principal, id: string): Promise<{ inv: InvestmentRow; portfolio: PortfolioRow }> {
    const inv = await this.deps.reads.get(viewer, id);
    // The viewer may read it (else `get` said NOT_FOUND): a reader who may not trade (the owner's advisor, an admin) is FORBIDDEN.
    const portfolio = await this.deps.portfolios.getForTrading(viewer, inv.portfolioId);
    return { inv, portfolio };
  }

  private price(inst: InstrumentRow): { last: Decimal; bid: Decimal; ask: Decimal } {
    const q = this.deps.instruments.quoteOf(inst);
    if (!q) throw new BadInputError(`No market price for ${inst.symbol} yet`, 'symbol', 'NO_MARKET_PRICE');
    return { last: dec(q.last), bid: dec(q.bid ?? q.last), ask: dec(q.ask ?? q.last) };
  }

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
    const inv = await this.deps.reads.get(viewer, investmentId);
    const portfolio = await this.deps.portfolios.get(viewer, inv.portfolioId);
    const sc = await this.deps.reads.smallcaseOf(inv);
    return (await this.rebalancePlan(inv, portfolio, sc)).tp.plan;
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
    this.requireState(inv, ['ACTIVE', 'NEEDS_REPAIR'], 'rebalance', await this.deps.reads.effectiveStatus(inv));
    const sc = await this.deps.reads.smallcaseOf(inv);
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
      onCompleted: (tx, run, orders, status) => this.deps.hooks.onRunCompleted(tx, run, orders, status),
    });
  }

  /** INVEST_MORE: buys of `amount`, aimed at the weights of the investment's version (reduces drift too). */
  async investMore(viewer: Principal, investmentId: string, rawAmount: string, clientRequestId?: string | null): Promise<BasketRunRow> {
    const amount = checkAmount(rawAmount);
    const hash = ['INVEST_MORE', investmentId, amount.toFixed()].join('|');
    const prior = await this.deps.runs.replay(viewer.userId, clientRequestId, hash);
    if (prior) return prior;
    const { inv, portfolio } = await this.getForTrading(viewer, investmentId);
    // New money, as investInSmallcase: not into an archived smallcase (rebalance and exit stay allowed).
    assertNotArchived(await this.deps.reads.smallcaseOf(inv));
    await this.checkNotInFlight(inv);
    this.requireState(inv, ['ACTIVE'], 'invest more in', await this.deps.reads.effectiveStatus(inv));
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
      onCompleted: (tx, run, orders, status) => this.deps.hooks.onRunCompleted(tx, run, orders, status),
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
    if (fraction.decimalPlaces() > 8) throw new BadInputError('fraction has more than 8 decimal places', 'fraction', 'INVALID_FRACTION');
    const hash = ['EXIT', investmentId, fraction.toFixed()].join('|');
    const prior = await this.deps.runs.replay(viewer.userId, clientRequestId, hash);
    if (prior) return prior;
    const { inv } = await this.getForTrading(viewer, investmentId);
    await this.checkNotInFlight(inv);
    const status = await this.deps.reads.effectiveStatus(inv);
    this.requireState(inv, ['ACTIVE', 'NEEDS_REPAIR', 'OUT_OF_SYNC'], 'exit', status);
    const covered = status === 'OUT_OF_SYNC' ? await this.covered(inv) : undefined;
    const { held, insts } = await this.heldLines(inv, inv.version, covered);
    const sells = planExit(held, fraction);
    // Every line rounded down to zero lots: an empty run would sell nothing and still be recorded.
    if (sells.length === 0) throw new BadInputError('This fraction sells no whole lot of any holding', 'fraction', 'NOTHING_TO_SELL');
    const now = this.deps.clock.now();
    const targets = new Map(held.map((h) => [h.instrumentId, h.quantity]));
    for (const s of sells) targets.set(s.instrumentId, targets.get(s.instrumentId)!.sub(s.quantity));
    return this.deps.runs.place(viewer, { ...this.request(inv, 'EXIT', clientRequestId, hash), sells: sells.map((s) => ({ instrument: insts.get(s.instrumentId)!, side: 'SELL', quantity: s.quantity })), buysNow: [], buyWants: [] }, {
      onCreated: async (tx) => {
        if (covered) await this.repo.setQuantities(tx, inv.id, covered, now);
        await this.repo.setTargets(tx, inv.id, targets, now);
        await this.repo.setStatus(tx, inv.id, 'PLACING', now);
      },
      onCompleted: (tx, run, orders, s) => this.deps.hooks.onRunCompleted(tx, run, orders, s),
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
    const status = await this.deps.reads.effectiveStatus(inv);
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
        onCompleted: (tx, run, orders, s) => this.deps.hooks.onRunCompleted(tx, run, orders, s),
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
}

function Decimal0(a: Decimal): Decimal {
  return a.isNegative() ? dec(0) : a;
}
