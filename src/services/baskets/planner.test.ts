import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decimal, dec } from '../../lib/decimal.js';
import { DEFAULT_FEES, feeBound } from '../../brokers/paper/fees.js';
import {
  allocateBuys,
  maxLotsWithin,
  minimumInvestment,
  planExit,
  planInvestment,
  planInvestmentRoundDown,
  planRebalance,
  planTargetPortfolio,
  reserveFor,
  type CostModel,
  type WeightedConstituent,
} from './planner.js';

const INR: CostModel = { buffer: dec('0.05'), feeBound: (n) => feeBound(DEFAULT_FEES, 'INR', n) };
const FREE: CostModel = { buffer: dec(0), feeBound: () => dec(0) };

const c = (id: string, weight: string, price: string, lot = '1'): WeightedConstituent => ({ instrumentId: id, weight: dec(weight), price: dec(price), lotSize: dec(lot) });

function totalReserve(plan: ReturnType<typeof planInvestment>, cost: CostModel): Decimal {
  return plan.lines.reduce((a, l) => a.add(reserveFor(l.quantity, l.estimatedPrice, cost)), dec(0));
}

describe('basket planner: investing an amount', () => {
  it('equal weights at round prices with no fees buy exactly the target quantities and leave nothing', () => {
    const plan = planInvestment(dec(1000), [c('A', '0.5', '100'), c('B', '0.5', '50')], FREE);
    expect(plan.lines.map((l) => l.quantity.toFixed())).toEqual(['5', '10']);
    expect(plan.leftoverCash.toFixed()).toBe('0');
    expect(plan.maxWeightDeviation).toBe(0);
  });

  it('spends the cash plain rounding down leaves when a lot still fits and brings weights closer', () => {
    // 1000 half and half at 60 and 130: rounding down buys 8 and 3 (= 870, weights 0.55/0.45) and leaves 130;
    // one more B fits exactly and gives 0.48/0.52.
    const cs = [c('A', '0.5', '60'), c('B', '0.5', '130')];
    const floor = planInvestmentRoundDown(dec(1000), cs, FREE);
    const smart = planInvestment(dec(1000), cs, FREE);
    expect(floor.lines.map((l) => l.quantity.toFixed())).toEqual(['8', '3']);
    expect(smart.lines.map((l) => l.quantity.toFixed())).toEqual(['8', '4']);
    expect(smart.leftoverCash.toFixed()).toBe('0');
    expect(smart.leftoverCash.lt(floor.leftoverCash)).toBe(true);
    expect(smart.maxWeightDeviation).toBeLessThan(floor.maxWeightDeviation);
    expect(totalReserve(smart, FREE).lte(1000)).toBe(true);
  });

  it('never holds more than the amount once the market buffer and the fee bound are added', () => {
    const cs = [c('RELIANCE', '0.4', '1545.60'), c('TCS', '0.3', '3215.40'), c('ITC', '0.3', '404.85')];
    const plan = planInvestment(dec('25000'), cs, INR);
    expect(totalReserve(plan, INR).lte('25000')).toBe(true);
    expect(plan.lines.every((l) => l.quantity.gte(1))).toBe(true);
  });

  it('respects lot sizes: quantities are whole lots', () => {
    const plan = planInvestment(dec('100000'), [c('A', '0.5', '101.3', '25'), c('B', '0.5', '47.1', '50')], INR);
    for (const l of plan.lines) expect(l.quantity.mod(l.instrumentId === 'A' ? 25 : 50).isZero()).toBe(true);
  });

  it('maxLotsWithin: the reserve of the answer fits, one lot more does not', () => {
    const q = maxLotsWithin(dec('10000'), dec('404.85'), dec(1), INR);
    expect(reserveFor(q, dec('404.85'), INR).lte('10000')).toBe(true);
    expect(reserveFor(q.add(1), dec('404.85'), INR).gt('10000')).toBe(true);
  });
});

describe('basket planner: minimum investment', () => {
  const cs = [c('RELIANCE', '0.2', '1545.60'), c('HDFCBANK', '0.2', '992.35'), c('TCS', '0.2', '3215.40'), c('INFY', '0.2', '1612.30'), c('ICICIBANK', '0.2', '1391.80')];

  it('the minimum buys one lot of every constituent; one paisa less leaves the dearest one out', () => {
    const min = minimumInvestment(cs, INR);
    // TCS sets it: one share at 3215.40 × 1.05 plus its fee bound, divided by 0.2.
    expect(min.toFixed(2)).toBe(reserveFor(dec(1), dec('3215.40'), INR).div('0.2').toDecimalPlaces(2, Decimal.ROUND_UP).toFixed(2));
    const at = planInvestment(min, cs, INR);
    expect(at.lines).toHaveLength(5);
    const below = planInvestmentRoundDown(min.sub('0.01'), cs, INR);
    expect(below.lines.find((l) => l.instrumentId === 'TCS')).toBeUndefined();
  });
});

describe('basket planner: rebalance, exit and target portfolios', () => {
  const held = (id: string, q: string, price: string, weight: string) => ({ instrumentId: id, quantity: dec(q), price: dec(price), bid: dec(price), ask: dec(price), lotSize: dec(1), weight: dec(weight) });

  it('sells what is over target, sells out of a removed constituent, and buys the rest with what the sells raise', () => {
    // 1500 in all: A is 1000 against 750 (sell 2.5 → 2 whole shares), C goes, B buys with the 500 raised.
    const r = planRebalance([held('A', '10', '100', '0.5'), held('B', '2', '100', '0.5'), held('C', '3', '100', '0')], dec(0), dec(0), FREE);
    expect(r.sells.map((s) => [s.instrumentId, s.quantity.toFixed()])).toEqual([
      ['A', '2'],
      ['C', '3'],
    ]);
    expect(r.buys.map((s) => [s.instrumentId, s.quantity.toFixed()])).toEqual([['B', '5']]);
    expect(r.plan.maxWeightDeviation).toBeCloseTo(800 / 1500 - 0.5, 9);
  });

  it('skips trades below the minimum ticket', () => {
    const r = planRebalance([held('A', '51', '100', '0.5'), held('B', '49', '100', '0.5')], dec(0), dec(150), FREE);
    expect(r.sells).toHaveLength(0);
    expect(r.buys).toHaveLength(0);
    const r2 = planRebalance([held('A', '51', '100', '0.5'), held('B', '49', '100', '0.5')], dec(0), dec(100), FREE);
    expect(r2.sells.map((s) => s.quantity.toFixed())).toEqual(['1']);
  });

  it('exit of half keeps the weights: half of every holding, rounded down to lots; exit of 1 sells all', () => {
    const h = [held('A', '10', '100', '0.5'), held('B', '5', '200', '0.5')];
    expect(planExit(h, dec('0.5')).map((l) => l.quantity.toFixed())).toEqual(['5', '2']);
    expect(planExit(h, dec(1)).map((l) => l.quantity.toFixed())).toEqual(['10', '5']);
  });

  it('target portfolio: deltas become sells and buys capped at the target and at the cash', () => {
    const w = (id: string, cur: string, target: string) => ({ instrumentId: id, current: dec(cur), target: dec(target), targetWeight: null, price: dec(100), bid: dec(100), ask: dec(100), lotSize: dec(1) });
    const r = planTargetPortfolio([w('A', '10', '4'), w('B', '0', '20')], dec(500), FREE, dec(1500));
    expect(r.sells.map((s) => s.quantity.toFixed())).toEqual(['6']);
    // 500 cash + 600 raised buys 11 of B, not the 20 wanted.
    expect(r.buys.map((s) => s.quantity.toFixed())).toEqual(['11']);
    const rich = planTargetPortfolio([w('B', '0', '20')], dec(100000), FREE, dec(100000));
    expect(rich.buys.map((s) => s.quantity.toFixed())).toEqual(['20']);
  });

  it('target portfolio: weights are of the whole portfolio after the plan, the target weight echoed, a target out of reach shows as deviation', () => {
    const w = (id: string, cur: string, target: string, weight: string | null) => ({
      instrumentId: id, current: dec(cur), target: dec(target), targetWeight: weight === null ? null : dec(weight), price: dec(100), bid: dec(100), ask: dec(100), lotSize: dec(1),
    });
    // 1,000 cash and 3,000 of other positions: 0.9 of 4,000 wants 36 W; the cash buys 10 = 1,000 = 0.25 of the portfolio.
    const one = planTargetPortfolio([w('W', '0', '36', '0.9')], dec(1000), FREE, dec(4000));
    expect(one.plan.lines.map((l) => [l.quantity.toFixed(), l.targetWeight?.toFixed(), l.resultingWeight?.toFixed()])).toEqual([['10', '0.9', '0.25']]);
    expect(one.plan.maxWeightDeviation).toBeCloseTo(0.65, 12);
    // 500 cash + A 10 (1,000) = 1,500: A to 0.2 (3, sells 7), B to 20 shares; 1,200 buys 12 B. A reaches 0.2, B 0.8 of 20 × 100 / 1,500.
    const two = planTargetPortfolio([w('A', '10', '3', '0.2'), w('B', '0', '20', null)], dec(500), FREE, dec(1500));
    expect(two.plan.lines.map((l) => [l.side, l.quantity.toFixed(), l.targetWeight?.toFixed() ?? null, l.resultingWeight?.toFixed()])).toEqual([
      ['SELL', '7', '0.2', '0.2'],
      ['BUY', '12', null, '0.8'],
    ]);
    expect(two.plan.maxWeightDeviation).toBeCloseTo(2000 / 1500 - 0.8, 12);
    // Reached exactly: no deviation.
    const reached = planTargetPortfolio([w('A', '10', '3', '0.2'), w('B', '0', '12', null)], dec(500), FREE, dec(1500));
    expect(reached.plan.maxWeightDeviation).toBe(0);
  });
});

describe('basket planner: property — never worse than plain rounding down, never over the amount', () => {
  it('holds over random baskets, prices, lots and amounts', () => {
    let strictlyBetter = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        fc.array(fc.record({ w: fc.integer({ min: 1, max: 100 }), p: fc.integer({ min: 100, max: 500_000 }), lot: fc.constantFrom(1, 1, 1, 5, 25) }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1_000, max: 5_000_000 }),
        (rows, amountInt) => {
          const wTotal = rows.reduce((a, r) => a + r.w, 0);
          // Weights as exact decimals summing to 1: the last takes the remainder.
          let acc = dec(0);
          const cs = rows.map((r, i) => {
            const w = i === rows.length - 1 ? dec(1).sub(acc) : dec(r.w).div(wTotal).toDecimalPlaces(8, Decimal.ROUND_DOWN);
            acc = acc.add(w);
            return c(`I${i}`, w.toFixed(), dec(r.p).div(100).toFixed(), String(r.lot));
          });
          const amount = dec(amountInt);
          const smart = planInvestment(amount, cs, INR);
          const floor = planInvestmentRoundDown(amount, cs, INR);
          runs++;
          if (smart.maxWeightDeviation < floor.maxWeightDeviation || smart.leftoverCash.lt(floor.leftoverCash)) strictlyBetter++;
          return (
            totalReserve(smart, INR).lte(amount) &&
            smart.maxWeightDeviation <= floor.maxWeightDeviation &&
            smart.leftoverCash.lte(floor.leftoverCash) &&
            smart.lines.every((l) => l.quantity.mod(cs.find((x) => x.instrumentId === l.instrumentId)!.lotSize).isZero())
          );
        },
      ),
      { numRuns: 300, seed: 8 },
    );
    // "Measurably better": strictly better than rounding down in a good share of random cases (about 44%
    // with this seed; in the rest rounding down was already the best lots allow).
    expect(strictlyBetter / runs).toBeGreaterThan(0.3);
  });

  it('allocateBuys is deterministic', () => {
    const lines = [0, 1, 2].map((i) => ({ instrumentId: `I${i}`, price: dec(97 + i), lotSize: dec(1), targetValue: dec(333) }));
    expect(allocateBuys(dec(1000), lines, INR).quantities.map(String)).toEqual(allocateBuys(dec(1000), lines, INR).quantities.map(String));
  });
});
