import { Decimal, dec } from '../../lib/decimal.js';

/**
 * The basket planner: pure functions from positions, prices, lots, fees and cash to order lines. Runs,
 * previews and the benchmark all call it; nothing here reads a clock, a database or a quote feed.
 *
 * Sizing algorithm (documented in the README, "Baskets"):
 * 1. Every buy line costs what the order loop will hold for it: `quantity × price × (1 + buffer)` rounded up
 *    to 8 places, plus the broker's fee bound on that notional (`reserveFor`). The sum of the lines'
 *    reserves never exceeds the budget, so the holds of a run always fit in the amount.
 * 2. Baseline ("plain rounding down"): each line gets the most whole lots whose reserve fits in its own
 *    share of the budget (`budget × weight`).
 * 3. Improvement: while a lot can still be added within the total budget, add the one lot that gives the
 *    lowest (max |weight − target|, Σ (value − target value)²), but only if that pair is lexicographically
 *    better than the current one. So the result is never further from target than the baseline (max
 *    weight deviation never rises) and never leaves more cash. Ties go to the earlier line (input order).
 */

export interface CostModel {
  /** Fraction added to the price of a market buy for its hold (the order loop's market buffer). */
  buffer: Decimal;
  /** The broker's upper bound on the fees of one order of this notional. */
  feeBound: (notional: Decimal) => Decimal;
}

export interface BuyCandidate {
  instrumentId: string;
  /** Estimated execution price (the ask, or last). */
  price: Decimal;
  lotSize: Decimal;
  /** What this line should be worth; weights are targetValue / Σ targetValue. */
  targetValue: Decimal;
  /** Never buy more than this (rebalances and target portfolios); none for fresh investments. */
  maxQuantity?: Decimal | null;
}

export interface Allocation {
  quantities: Decimal[];
  /** Σ reserveFor over the lines: what the holds will take; always ≤ the budget. */
  reserved: Decimal;
}

/** What the order loop holds for a market buy of `quantity` at `price`: buffered notional rounded up, plus the fee bound. */
export function reserveFor(quantity: Decimal, price: Decimal, cost: CostModel): Decimal {
  if (quantity.isZero()) return dec(0);
  const ref = price.mul(cost.buffer.add(1));
  return quantity.mul(ref).toDecimalPlaces(8, Decimal.ROUND_UP).add(cost.feeBound(quantity.mul(ref)));
}

/** Round a quantity down to whole lots. */
export function floorToLot(q: Decimal, lot: Decimal): Decimal {
  if (q.lte(0)) return dec(0);
  return q.div(lot).floor().mul(lot);
}

/** The most whole lots whose reserve fits in `budget`. */
export function maxLotsWithin(budget: Decimal, price: Decimal, lot: Decimal, cost: CostModel): Decimal {
  if (budget.lte(0) || price.lte(0)) return dec(0);
  let q = floorToLot(budget.div(price.mul(cost.buffer.add(1))), lot);
  while (q.gt(0) && reserveFor(q, price, cost).gt(budget)) q = q.sub(lot);
  return q;
}

/** max |resulting weight − target weight| over the lines (resulting weights from values at `price`). */
export function maxWeightDeviation(values: number[], targets: number[]): number {
  const total = values.reduce((a, b) => a + b, 0);
  const tTotal = targets.reduce((a, b) => a + b, 0);
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const w = total > 0 ? values[i] / total : 0;
    const t = tTotal > 0 ? targets[i] / tTotal : 0;
    max = Math.max(max, Math.abs(w - t));
  }
  return max;
}

function sse(values: number[], targets: number[]): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (values[i] - targets[i]) ** 2;
  return s;
}

/** Step 2 alone: each line's share of the budget, rounded down to whole lots. The baseline the planner beats. */
export function roundDownAllocation(budget: Decimal, lines: BuyCandidate[], cost: CostModel): Allocation {
  const tTotal = lines.reduce((a, l) => a.add(l.targetValue), dec(0));
  const scale = tTotal.gt(budget) && tTotal.gt(0) ? budget.div(tTotal) : dec(1);
  const quantities = lines.map((l) => {
    const q = maxLotsWithin(l.targetValue.mul(scale), l.price, l.lotSize, cost);
    return l.maxQuantity != null ? Decimal.min(q, floorToLot(l.maxQuantity, l.lotSize)) : q;
  });
  return { quantities, reserved: quantities.reduce((a, q, i) => a.add(reserveFor(q, lines[i].price, cost)), dec(0)) };
}

/** Steps 1–3: whole-lot buys within `budget`, as close to the target values as lots allow. */
export function allocateBuys(budget: Decimal, lines: BuyCandidate[], cost: CostModel): Allocation {
  const base = roundDownAllocation(budget, lines, cost);
  const q = [...base.quantities];
  const reserves = q.map((x, i) => reserveFor(x, lines[i].price, cost));
  let reserved = base.reserved;
  const prices = lines.map((l) => l.price.toNumber());
  const targets = lines.map((l) => l.targetValue.toNumber());
  const values = q.map((x, i) => x.toNumber() * prices[i]);
  let cur = { dev: maxWeightDeviation(values, targets), sse: sse(values, targets) };
  for (;;) {
    let best: { i: number; dev: number; sse: number; reserve: Decimal } | null = null;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      const next = q[i].add(l.lotSize);
      if (l.maxQuantity != null && next.gt(l.maxQuantity)) continue;
      const r = reserveFor(next, l.price, cost);
      if (reserved.sub(reserves[i]).add(r).gt(budget)) continue;
      const v = values[i];
      values[i] = next.toNumber() * prices[i];
      const cand = { i, dev: maxWeightDeviation(values, targets), sse: sse(values, targets), reserve: r };
      values[i] = v;
      if (!best || cand.dev < best.dev || (cand.dev === best.dev && cand.sse < best.sse)) best = cand;
    }
    if (!best || !(best.dev < cur.dev || (best.dev <= cur.dev && best.sse < cur.sse))) break;
    const i = best.i;
    q[i] = q[i].add(lines[i].lotSize);
    reserved = reserved.sub(reserves[i]).add(best.reserve);
    reserves[i] = best.reserve;
    values[i] = q[i].toNumber() * prices[i];
    cur = { dev: best.dev, sse: best.sse };
  }
  return { quantities: q, reserved };
}

export interface WeightedConstituent {
  instrumentId: string;
  weight: Decimal;
  price: Decimal;
  lotSize: Decimal;
}

/**
 * The smallest amount (rounded up to the cent) whose share buys at least one lot of every constituent,
 * reserve included: max over constituents of reserveFor(1 lot) / weight. One cent less leaves the
 * constituent that sets it with no lot.
 */
export function minimumInvestment(constituents: WeightedConstituent[], cost: CostModel): Decimal {
  let min = dec(0);
  for (const c of constituents) {
    const need = reserveFor(c.lotSize, c.price, cost).div(c.weight);
    if (need.gt(min)) min = need;
  }
  return min.toDecimalPlaces(2, Decimal.ROUND_UP);
}

export type Side = 'BUY' | 'SELL';

export interface PlanLine {
  instrumentId: string;
  side: Side;
  quantity: Decimal;
  estimatedPrice: Decimal;
  estimatedValue: Decimal;
  targetWeight: Decimal | null;
  resultingWeight: Decimal | null;
}

export interface Plan {
  lines: PlanLine[];
  investedAmount: Decimal;
  leftoverCash: Decimal;
  estimatedFees: Decimal;
  maxWeightDeviation: number;
}

/** An investment of `amount`: whole-lot buys of every constituent, never costing more than the amount. */
export function planInvestment(amount: Decimal, constituents: WeightedConstituent[], cost: CostModel): Plan {
  const lines: BuyCandidate[] = constituents.map((c) => ({ instrumentId: c.instrumentId, price: c.price, lotSize: c.lotSize, targetValue: amount.mul(c.weight) }));
  const alloc = allocateBuys(amount, lines, cost);
  return describeBuys(amount, constituents, alloc.quantities, cost);
}

/** Plain rounding down of the same investment (for comparison and tests). */
export function planInvestmentRoundDown(amount: Decimal, constituents: WeightedConstituent[], cost: CostModel): Plan {
  const lines: BuyCandidate[] = constituents.map((c) => ({ instrumentId: c.instrumentId, price: c.price, lotSize: c.lotSize, targetValue: amount.mul(c.weight) }));
  return describeBuys(amount, constituents, roundDownAllocation(amount, lines, cost).quantities, cost);
}

function describeBuys(amount: Decimal, constituents: WeightedConstituent[], quantities: Decimal[], cost: CostModel): Plan {
  const values = quantities.map((q, i) => q.mul(constituents[i].price));
  const invested = values.reduce((a, v) => a.add(v), dec(0));
  const fees = quantities.reduce((a, q, i) => a.add(q.isZero() ? 0 : cost.feeBound(q.mul(constituents[i].price))), dec(0));
  const lines: PlanLine[] = constituents.map((c, i) => ({
    instrumentId: c.instrumentId,
    side: 'BUY',
    quantity: quantities[i],
    estimatedPrice: c.price,
    estimatedValue: values[i],
    targetWeight: c.weight,
    resultingWeight: invested.gt(0) ? values[i].div(invested).toDecimalPlaces(6) : dec(0),
  }));
  return {
    lines: lines.filter((l) => l.quantity.gt(0)),
    investedAmount: invested,
    leftoverCash: amount.sub(invested).sub(fees),
    estimatedFees: fees,
    maxWeightDeviation: maxWeightDeviation(
      values.map((v) => v.toNumber()),
      constituents.map((c) => c.weight.toNumber()),
    ),
  };
}

export interface HeldLine {
  instrumentId: string;
  quantity: Decimal;
  /** Valuation price (last). */
  price: Decimal;
  /** Expected sell price (bid, or last). */
  bid: Decimal;
  /** Expected buy price (ask, or last). */
  ask: Decimal;
  lotSize: Decimal;
  /** Target weight; 0 for something to sell out of. */
  weight: Decimal;
}

export interface TwoPhasePlan {
  sells: PlanLine[];
  /** Buys wanted, before they are sized on what the sells raise: the caps and target values. */
  buyWants: BuyCandidate[];
  /** The buys as sized on the estimated proceeds (previews). */
  buys: PlanLine[];
  estimatedProceeds: Decimal;
  plan: Plan;
}

/**
 * Move holdings towards target weights: sell what is over target (all of what has weight 0), then buy
 * what is under, sized on what the sells raise plus `extraCash`. Trades worth less than `minTicket` are
 * skipped (a removal is always sold).
 */
export function planRebalance(held: HeldLine[], extraCash: Decimal, minTicket: Decimal, cost: CostModel): TwoPhasePlan {
  const total = held.reduce((a, h) => a.add(h.quantity.mul(h.price)), dec(0)).add(extraCash);
  const sells: PlanLine[] = [];
  const buyWants: BuyCandidate[] = [];
  for (const h of held) {
    const target = total.mul(h.weight);
    const current = h.quantity.mul(h.price);
    if (h.weight.isZero()) {
      if (h.quantity.gt(0)) sells.push(line(h.instrumentId, 'SELL', h.quantity, h.bid, h.weight));
      continue;
    }
    if (current.gt(target)) {
      const q = floorToLot(current.sub(target).div(h.price), h.lotSize);
      if (q.gt(0) && q.mul(h.bid).gte(minTicket)) sells.push(line(h.instrumentId, 'SELL', q, h.bid, h.weight));
    } else if (target.gt(current)) {
      const want = target.sub(current);
      if (want.gte(minTicket)) {
        buyWants.push({ instrumentId: h.instrumentId, price: h.ask, lotSize: h.lotSize, targetValue: want, maxQuantity: null });
      }
    }
  }
  const proceeds = estimatedProceeds(sells, cost);
  const buys = sizeBuys(proceeds.add(extraCash), buyWants, minTicket, cost);
  return finishTwoPhase(held, sells, buyWants, buys, proceeds, extraCash, cost);
}

/** Net cash a set of sells is expected to raise (value less the fee bound). */
export function estimatedProceeds(sells: PlanLine[], cost: CostModel): Decimal {
  return sells.reduce((a, s) => a.add(s.estimatedValue).sub(cost.feeBound(s.estimatedValue)), dec(0));
}

/** The buy phase: the wanted buys sized on `budget` (what the sells raised), small tickets dropped. */
export function sizeBuys(budget: Decimal, wants: BuyCandidate[], minTicket: Decimal, cost: CostModel): PlanLine[] {
  if (wants.length === 0 || budget.lte(0)) return [];
  // Wanted quantities (targets, repairs, explicit lines) are bought as they are when the budget covers them all.
  const capped = wants.every((w) => w.maxQuantity != null) ? wants.map((w) => floorToLot(w.maxQuantity!, w.lotSize)) : null;
  const fits = capped && capped.reduce((a, q, i) => a.add(reserveFor(q, wants[i].price, cost)), dec(0)).lte(budget);
  const quantities = fits ? capped : allocateBuys(budget, wants, cost).quantities;
  return wants
    .map((w, i) => line(w.instrumentId, 'BUY', quantities[i], w.price, null))
    .filter((l) => l.quantity.gt(0) && l.estimatedValue.gte(minTicket));
}

function line(instrumentId: string, side: Side, quantity: Decimal, price: Decimal, weight: Decimal | null): PlanLine {
  return { instrumentId, side, quantity, estimatedPrice: price, estimatedValue: quantity.mul(price), targetWeight: weight, resultingWeight: null };
}

function finishTwoPhase(held: HeldLine[], sells: PlanLine[], buyWants: BuyCandidate[], buys: PlanLine[], proceeds: Decimal, extraCash: Decimal, cost: CostModel): TwoPhasePlan {
  const after = new Map(held.map((h) => [h.instrumentId, h.quantity]));
  for (const s of sells) after.set(s.instrumentId, (after.get(s.instrumentId) ?? dec(0)).sub(s.quantity));
  for (const b of buys) after.set(b.instrumentId, (after.get(b.instrumentId) ?? dec(0)).add(b.quantity));
  const values = held.map((h) => (after.get(h.instrumentId) ?? dec(0)).mul(h.price));
  const total = values.reduce((a, v) => a.add(v), dec(0));
  const weightOf = new Map(held.map((h, i) => [h.instrumentId, total.gt(0) ? values[i].div(total).toDecimalPlaces(6) : dec(0)]));
  const lines = [...sells, ...buys].map((l) => ({ ...l, targetWeight: held.find((h) => h.instrumentId === l.instrumentId)?.weight ?? null, resultingWeight: weightOf.get(l.instrumentId) ?? null }));
  const bought = buys.reduce((a, b) => a.add(b.estimatedValue), dec(0));
  const fees = [...sells, ...buys].reduce((a, l) => a.add(cost.feeBound(l.estimatedValue)), dec(0));
  return {
    sells,
    buyWants,
    buys,
    estimatedProceeds: proceeds,
    plan: {
      lines,
      investedAmount: bought,
      leftoverCash: proceeds.add(extraCash).sub(bought).sub(buys.reduce((a, b) => a.add(cost.feeBound(b.estimatedValue)), dec(0))),
      estimatedFees: fees,
      maxWeightDeviation: maxWeightDeviation(
        values.map((v) => v.toNumber()),
        held.map((h) => h.weight.toNumber()),
      ),
    },
  };
}

/** Sell `fraction` of every holding, in whole lots (all of it when the fraction is 1), keeping the weights. */
export function planExit(held: HeldLine[], fraction: Decimal): PlanLine[] {
  return held
    .map((h) => line(h.instrumentId, 'SELL', fraction.eq(1) ? h.quantity : floorToLot(h.quantity.mul(fraction), h.lotSize), h.bid, h.weight))
    .filter((l) => l.quantity.gt(0));
}

export interface TargetWant {
  instrumentId: string;
  current: Decimal;
  target: Decimal;
  /** The weight asked for (of the portfolio's total value); null for a target quantity. */
  targetWeight: Decimal | null;
  /** Valuation price (last). */
  price: Decimal;
  bid: Decimal;
  ask: Decimal;
  lotSize: Decimal;
}

/**
 * A target portfolio: quantities to reach; the differences with current positions become sells and (capped)
 * buys. `cash` is what buys may spend; `totalValue` is the portfolio's value now (cash + positions at last).
 *
 * Weights are of the whole portfolio after the plan, cash included (as positions' weights everywhere):
 * value after = totalValue − estimated fees + Σ buys q × (last − ask) + Σ sells q × (bid − last). A line's
 * targetWeight echoes the request (null for a quantity target); maxWeightDeviation is the largest
 * |resulting − target| over every target line, a quantity target counting as the weight its quantity
 * would have (so a target out of reach of the cash shows, and one reached exactly counts 0).
 */
export function planTargetPortfolio(wants: TargetWant[], cash: Decimal, cost: CostModel, totalValue: Decimal): TwoPhasePlan {
  const sells: PlanLine[] = [];
  const buyWants: BuyCandidate[] = [];
  for (const w of wants) {
    const delta = w.target.sub(w.current);
    if (delta.lt(0)) sells.push(line(w.instrumentId, 'SELL', delta.neg(), w.bid, null));
    else if (delta.gt(0)) buyWants.push({ instrumentId: w.instrumentId, price: w.ask, lotSize: w.lotSize, targetValue: delta.mul(w.ask), maxQuantity: delta });
  }
  const proceeds = estimatedProceeds(sells, cost);
  const buys = sizeBuys(cash.add(proceeds), buyWants, dec(0), cost);
  const held: HeldLine[] = wants.map((w) => ({ instrumentId: w.instrumentId, quantity: w.current, price: w.price, bid: w.bid, ask: w.ask, lotSize: w.lotSize, weight: dec(0) }));
  const tp = finishTwoPhase(held, sells, buyWants, buys, proceeds, cash, cost);
  const byId = new Map(wants.map((w) => [w.instrumentId, w]));
  const after = new Map(wants.map((w) => [w.instrumentId, w.current]));
  let totalAfter = totalValue.sub(tp.plan.estimatedFees);
  for (const s of sells) {
    after.set(s.instrumentId, after.get(s.instrumentId)!.sub(s.quantity));
    totalAfter = totalAfter.add(s.quantity.mul(s.estimatedPrice.sub(byId.get(s.instrumentId)!.price)));
  }
  for (const b of buys) {
    after.set(b.instrumentId, after.get(b.instrumentId)!.add(b.quantity));
    totalAfter = totalAfter.add(b.quantity.mul(byId.get(b.instrumentId)!.price.sub(b.estimatedPrice)));
  }
  const weightOf = (w: TargetWant, q: Decimal) => (totalAfter.gt(0) ? q.mul(w.price).div(totalAfter) : dec(0));
  let maxDev = dec(0);
  for (const w of wants) {
    const target = w.targetWeight ?? weightOf(w, w.target);
    maxDev = Decimal.max(maxDev, weightOf(w, after.get(w.instrumentId)!).sub(target).abs());
  }
  for (const l of tp.plan.lines) {
    const w = byId.get(l.instrumentId)!;
    l.targetWeight = w.targetWeight;
    l.resultingWeight = weightOf(w, after.get(l.instrumentId)!).toDecimalPlaces(6);
  }
  tp.plan.maxWeightDeviation = maxDev.toNumber();
  return tp;
}
