import { BadInputError } from '../../errors.js';
import { dec, type Decimal } from '../../lib/decimal.js';

const MAX_AMOUNT = dec('1000000000');

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
