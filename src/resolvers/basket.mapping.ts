import type { Plan } from '../services/baskets/planner.js';
import type { InstrumentRow } from '../services/instrument.service.js';
import { NotFoundError } from '../errors.js';
import type { GqlContext } from './context.js';

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

export async function loadInstrument(ctx: GqlContext, id: string): Promise<InstrumentRow> {
  const i = await ctx.loaders.instrument.load(id);
  if (!i) throw new NotFoundError('Instrument', id);
  return i;
}
