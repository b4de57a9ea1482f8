import { BadInputError } from '../errors.js';
import { Decimal, dec, Rounding, roundToStep, ZERO } from '../lib/decimal.js';

/** How much a strategy buys or sells short on an entry (exactly one of the three). Decimal strings. */
export interface Sizing {
  quantity?: string | null;
  amount?: string | null;
  percentOfEquity?: string | null;
}

/** Validate a sizing input: one of quantity, amount, percentOfEquity (0 < p ≤ 100); default quantity 1. */
export function normalizeSizing(s: Sizing | null | undefined): Sizing {
  const given = Object.entries(s ?? {}).filter(([, v]) => v !== null && v !== undefined) as [keyof Sizing, string][];
  if (given.length === 0) return { quantity: '1' };
  if (given.length > 1) throw new BadInputError('Give one of sizing.quantity, sizing.amount, sizing.percentOfEquity', 'sizing', 'AMBIGUOUS_SIZING');
  const [key, raw] = given[0]!;
  let v: Decimal;
  try {
    v = dec(raw);
  } catch {
    throw new BadInputError(`sizing.${key} must be a decimal number`, `sizing.${key}`, 'INVALID_NUMBER');
  }
  if (!v.isFinite() || v.lte(0)) throw new BadInputError(`sizing.${key} must be above 0`, `sizing.${key}`, 'INVALID_NUMBER');
  if (key === 'percentOfEquity' && v.gt(100)) throw new BadInputError('sizing.percentOfEquity must be at most 100', `sizing.${key}`, 'INVALID_NUMBER');
  return { [key]: v.toFixed() };
}

/** Shares for an entry at `price` with `equity`, rounded down to the lot; zero when it buys nothing. */
export function entryQuantity(sizing: Sizing, price: Decimal, equity: Decimal, lot: Decimal): Decimal {
  let raw: Decimal;
  if (sizing.quantity) raw = dec(sizing.quantity);
  else if (sizing.amount) raw = dec(sizing.amount).div(price);
  else raw = equity.mul(dec(sizing.percentOfEquity ?? '0')).div(100).div(price);
  const q = roundToStep(raw, lot, Rounding.DOWN);
  return q.gt(0) ? q : ZERO;
}
