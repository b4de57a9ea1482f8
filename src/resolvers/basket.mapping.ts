import type { Plan } from '../services/baskets/planner.js';

/** A plan as GraphQL returns it (decimals as strings; instruments resolved by field resolvers). */
export function planToGql(plan: Plan) {
  return {
    lines: plan.lines.map((l) => ({
      instrumentId: l.instrumentId,
      side: l.side,
      quantity: l.quantity.toFixed(),
      estimatedPrice: l.estimatedPrice.toFixed(),
      estimatedValue: l.estimatedValue.toFixed(2),
      targetWeight: l.targetWeight?.toFixed() ?? null,
      resultingWeight: l.resultingWeight?.toFixed() ?? null,
    })),
    investedAmount: plan.investedAmount.toFixed(2),
    leftoverCash: plan.leftoverCash.toFixed(2),
    estimatedFees: plan.estimatedFees.toFixed(2),
    maxWeightDeviation: plan.maxWeightDeviation,
  };
}
