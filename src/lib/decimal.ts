import { Decimal as DecimalJs } from 'decimal.js';

/**
 * The one decimal type for money, prices and quantities. A private clone so no other code can change
 * its precision or rounding. Never convert money to a JavaScript number.
 */
export const Decimal = DecimalJs.clone({ precision: 40, rounding: DecimalJs.ROUND_HALF_UP, toExpNeg: -30, toExpPos: 40 });
export type Decimal = InstanceType<typeof Decimal>;
export type DecimalLike = Decimal | string | number;

export const ZERO = new Decimal(0);

export function dec(value: DecimalLike): Decimal {
  return value instanceof Decimal ? value : new Decimal(value);
}

/** Plain decimal text with no exponent and no trailing zeros beyond `minScale` (e.g. "1234.50" with minScale 2). */
export function fmt(value: DecimalLike, minScale = 0): string {
  const d = dec(value);
  let s = d.toFixed();
  if (minScale > 0) {
    const [, frac = ''] = s.split('.');
    if (frac.length < minScale) s = d.toFixed(minScale);
  }
  return s;
}

/** Decimal text for a numeric column (keeps full precision, no exponent). */
export function toDb(value: DecimalLike): string {
  return dec(value).toFixed();
}

/** Round to a multiple of `step` (tick or lot size). */
export function roundToStep(value: DecimalLike, step: DecimalLike, rounding: DecimalJs.Rounding = DecimalJs.ROUND_HALF_UP): Decimal {
  const s = dec(step);
  return dec(value).div(s).toDecimalPlaces(0, rounding).mul(s);
}

export function isMultipleOf(value: DecimalLike, step: DecimalLike): boolean {
  return dec(value).mod(dec(step)).isZero();
}

export const Rounding = { UP: DecimalJs.ROUND_UP, DOWN: DecimalJs.ROUND_DOWN, HALF_UP: DecimalJs.ROUND_HALF_UP } as const;

/** Cash is kept to the smallest currency unit: 0.01 (deposits, withdrawals and cash never have more places). */
export const CASH_PLACES = 2;

/**
 * Available cash as shown to a client: rounded DOWN (toward −∞) to the smallest currency unit, so the
 * figure shown can be withdrawn as printed. Holds are kept to 8 places (and released pro rata), so cash
 * minus holds can have fractions of a paisa; they are never shown.
 */
export function fmtAvailable(value: DecimalLike): string {
  return dec(value).toDecimalPlaces(CASH_PLACES, DecimalJs.ROUND_FLOOR).toFixed(CASH_PLACES);
}
