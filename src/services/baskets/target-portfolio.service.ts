import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { positions } from '../../db/schema/index.js';
import { BadInputError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import { dec, isMultipleOf, type Decimal } from '../../lib/decimal.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';
import type { PortfolioRow, PortfolioService } from '../portfolio.service.js';
import { floorToLot, planTargetPortfolio, type CostModel, type Plan, type TargetWant, type TwoPhasePlan } from './planner.js';
import type { BasketRunRow, BasketRunService, RunKind } from './basket-run.service.js';
import type { RunLine } from './run-placer.js';

export interface TargetLineInput {
  symbol: string;
  exchange?: string | null;
  targetQuantity?: string | null;
  targetWeight?: string | null;
}

/** An explicit order line (advisor proposals, scripts): what to trade, not where to end up. */
export interface ExplicitLineInput {
  symbol: string;
  exchange?: string | null;
  side: 'BUY' | 'SELL';
  quantity: string;
}

export const MAX_TARGET_LINES = 100;

function decimalOrBad(raw: string, field: string, reason: string): Decimal {
  try {
    const d = dec(raw);
    if (d.isFinite()) return d;
  } catch {
    /* fall through */
  }
  throw new BadInputError(`${field} must be a decimal number`, field, reason);
}

/**
 * Target portfolios, as a portfolio execution engine takes them: target quantities or weights (of the
 * portfolio's total value) for some instruments; the differences with current positions become sells,
 * then buys sized on the cash available once the sells have ended. Also the door for explicit lines.
 */
export class TargetPortfolioService {
  constructor(
    private readonly deps: { db: Db; instruments: InstrumentService; portfolios: PortfolioService; runs: BasketRunService; cost: (p: PortfolioRow) => CostModel },
  ) {}

  private async resolve(symbol: string, exchange: string | null | undefined, field: string, portfolio: PortfolioRow): Promise<InstrumentRow> {
    let inst: InstrumentRow;
    try {
      inst = await this.deps.instruments.resolve(symbol, exchange);
    } catch (err) {
      if (err instanceof BadInputError) throw new BadInputError(err.message, `${field}.symbol`, String(err.details?.reason ?? 'UNKNOWN_SYMBOL'));
      throw err;
    }
    if (inst.currency !== portfolio.baseCurrency) {
      throw new BadInputError(`${inst.symbol} trades in ${inst.currency}; this portfolio holds ${portfolio.baseCurrency}`, `${field}.symbol`, 'CURRENCY_MISMATCH');
    }
    if (!inst.tradable) throw new BadInputError(`${inst.symbol} is not tradable`, `${field}.symbol`, 'NOT_TRADABLE');
    return inst;
  }

  private async plan(portfolio: PortfolioRow, targets: TargetLineInput[]): Promise<{ tp: TwoPhasePlan; insts: Map<string, InstrumentRow> }> {
    if (targets.length < 1 || targets.length > MAX_TARGET_LINES) throw new BadInputError(`targets must list 1 to ${MAX_TARGET_LINES} lines`, 'targets', 'TARGET_COUNT');
    const insts = new Map<string, InstrumentRow>();
    const specs: { inst: InstrumentRow; quantity?: Decimal; weight?: Decimal }[] = [];
    let weightSum = dec(0);
    for (const [i, t] of targets.entries()) {
      const f = `targets[${i}]`;
      const inst = await this.resolve(t.symbol, t.exchange, f, portfolio);
      if (insts.has(inst.id)) throw new BadInputError(`${inst.symbol} is listed twice`, `${f}.symbol`, 'DUPLICATE_SYMBOL');
      insts.set(inst.id, inst);
      if ((t.targetQuantity == null) === (t.targetWeight == null)) throw new BadInputError('give exactly one of targetQuantity and targetWeight', f, 'TARGET_REQUIRED');
      if (t.targetQuantity != null) {
        const q = decimalOrBad(t.targetQuantity, `${f}.targetQuantity`, 'INVALID_QUANTITY');
        if (q.lt(0)) throw new BadInputError('targetQuantity must be zero or more', `${f}.targetQuantity`, 'INVALID_QUANTITY');
        if (!isMultipleOf(q, inst.lotSize)) throw new BadInputError(`targetQuantity must be a multiple of the lot size ${inst.lotSize}`, `${f}.targetQuantity`, 'LOT_SIZE');
        specs.push({ inst, quantity: q });
      } else {
        const w = decimalOrBad(t.targetWeight!, `${f}.targetWeight`, 'INVALID_WEIGHT');
        if (w.lt(0) || w.gt(1)) throw new BadInputError('targetWeight must be between 0 and 1', `${f}.targetWeight`, 'INVALID_WEIGHT');
        weightSum = weightSum.add(w);
        specs.push({ inst, weight: w });
      }
    }
    if (weightSum.gt(1)) throw new BadInputError(`target weights sum to ${weightSum.toFixed()}, more than 1`, 'targets', 'WEIGHTS_EXCEED_ONE');
    const pos = await this.deps.db.select().from(positions).where(eq(positions.portfolioId, portfolio.id));
    const current = new Map(pos.map((p) => [p.instrumentId, dec(p.quantity)]));
    const bal = await this.deps.portfolios.balances(portfolio.id);
    let total = dec(bal.cash);
    for (const p of pos) {
      if (dec(p.quantity).isZero()) continue;
      const [inst] = await this.deps.instruments.byIds([p.instrumentId]);
      const q = inst && this.deps.instruments.quoteOf(inst);
      total = total.add(dec(p.quantity).mul(q ? q.last : p.averageCost));
    }
    const wants: TargetWant[] = specs.map((s) => {
      const q = this.deps.instruments.quoteOf(s.inst);
      if (!q) throw new BadInputError(`No market price for ${s.inst.symbol} yet`, 'targets', 'NO_MARKET_PRICE');
      const last = dec(q.last);
      const target = s.quantity ?? floorToLot(total.mul(s.weight!).div(last), dec(s.inst.lotSize));
      return { instrumentId: s.inst.id, current: current.get(s.inst.id) ?? dec(0), target, targetWeight: s.weight ?? null, price: last, bid: dec(q.bid ?? q.last), ask: dec(q.ask ?? q.last), lotSize: dec(s.inst.lotSize) };
    });
    return { tp: planTargetPortfolio(wants, dec(bal.available), this.deps.cost(portfolio), total), insts };
  }

  async preview(viewer: Principal, portfolioId: string, targets: TargetLineInput[]): Promise<Plan> {
    const portfolio = await this.deps.portfolios.get(viewer, portfolioId);
    return (await this.plan(portfolio, targets)).tp.plan;
  }

  async execute(viewer: Principal, portfolioId: string, targets: TargetLineInput[], clientRequestId?: string | null): Promise<BasketRunRow> {
    const hash = ['TARGET', portfolioId, JSON.stringify(targets.map((t) => [t.symbol.trim().toUpperCase(), t.exchange ?? '', t.targetQuantity ?? '', t.targetWeight ?? '']))].join('|');
    const prior = await this.deps.runs.replay(viewer.userId, clientRequestId, hash);
    if (prior) return prior;
    const portfolio = await this.deps.portfolios.getForTrading(viewer, portfolioId);
    const { tp, insts } = await this.plan(portfolio, targets);
    const line = (id: string, side: 'BUY' | 'SELL', quantity: Decimal): RunLine => ({ instrument: insts.get(id)!, side, quantity });
    return this.deps.runs.place(viewer, {
      portfolioId,
      kind: 'TARGET',
      clientRequestId,
      requestHash: hash,
      sells: tp.sells.map((s) => line(s.instrumentId, 'SELL', s.quantity)),
      buysNow: tp.sells.length ? [] : tp.buys.map((b) => line(b.instrumentId, 'BUY', b.quantity)),
      buyWants: tp.buyWants,
      useAvailableCash: true,
    });
  }

  /**
   * Place a run from explicit lines for a portfolio (advisor proposals build on this): sells now, buys
   * once the sells have ended, each buy capped at its quantity and sized on the cash available then.
   */
  async executeLines(
    viewer: Principal,
    args: { portfolioId: string; lines: ExplicitLineInput[]; clientRequestId?: string | null; kind?: RunKind; investmentId?: string | null },
  ): Promise<BasketRunRow> {
    const hash = ['LINES', args.portfolioId, JSON.stringify(args.lines.map((l) => [l.symbol.trim().toUpperCase(), l.exchange ?? '', l.side, l.quantity]))].join('|');
    const prior = await this.deps.runs.replay(viewer.userId, args.clientRequestId, hash);
    if (prior) return prior;
    const portfolio = await this.deps.portfolios.getForTrading(viewer, args.portfolioId);
    if (args.lines.length < 1 || args.lines.length > MAX_TARGET_LINES) throw new BadInputError(`lines must list 1 to ${MAX_TARGET_LINES} orders`, 'lines', 'LINE_COUNT');
    const sells: RunLine[] = [];
    const buys: RunLine[] = [];
    for (const [i, l] of args.lines.entries()) {
      const inst = await this.resolve(l.symbol, l.exchange, `lines[${i}]`, portfolio);
      const q = decimalOrBad(l.quantity, `lines[${i}].quantity`, 'INVALID_QUANTITY');
      if (q.lte(0) || !isMultipleOf(q, inst.lotSize)) throw new BadInputError('quantity must be a positive multiple of the lot size', `lines[${i}].quantity`, 'INVALID_QUANTITY');
      (l.side === 'SELL' ? sells : buys).push({ instrument: inst, side: l.side, quantity: q });
    }
    return this.deps.runs.place(viewer, {
      portfolioId: portfolio.id,
      kind: args.kind ?? 'TARGET',
      investmentId: args.investmentId ?? null,
      clientRequestId: args.clientRequestId,
      requestHash: hash,
      sells,
      buysNow: sells.length ? [] : buys,
      buyWants: sells.length
        ? buys.map((b) => {
            const q = this.deps.instruments.quoteOf(b.instrument);
            return { instrumentId: b.instrument.id, price: dec(0), lotSize: dec(b.instrument.lotSize), targetValue: b.quantity.mul(q ? (q.ask ?? q.last) : b.instrument.referencePrice), maxQuantity: b.quantity };
          })
        : [],
      useAvailableCash: true,
    });
  }
}


