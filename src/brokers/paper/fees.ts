import { Decimal, dec, fmt, type DecimalLike } from '../../lib/decimal.js';

/** One currency's brokerage: `bps` of the fill notional, at least `min`, at most `max` (decimal strings). */
export interface FeeRule {
  bps: string;
  min: string;
  max?: string;
}

/** Fee rules per currency code. A currency with no rule trades free. */
export type FeeSchedule = Record<string, FeeRule>;

/**
 * Defaults modelled on real retail brokers: a discount broker's 3 bps capped at ₹20 per order for INR,
 * commission-free for USD.
 */
export const DEFAULT_FEES: FeeSchedule = {
  INR: { bps: '3', min: '0', max: '20' },
  USD: { bps: '0', min: '0' },
};

/**
 * The fee for one execution of `notional` (quantity × price) in `currency`, rounded down to 2 dp.
 * Rounding down keeps the fees of an order's partial fills within {@link feeBound} of the whole order.
 */
export function computeFee(schedule: FeeSchedule, currency: string, notional: DecimalLike): Decimal {
  const rule = schedule[currency];
  if (!rule) return dec(0);
  let fee = dec(notional).abs().mul(dec(rule.bps)).div(10_000);
  if (fee.lessThan(rule.min)) fee = dec(rule.min);
  if (rule.max !== undefined && fee.greaterThan(rule.max)) fee = dec(rule.max);
  return fee.toDecimalPlaces(2, Decimal.ROUND_DOWN);
}

/**
 * An upper bound on the fees of an order of `notional`, however it fills: each fill pays at most its
 * share of the bps (the cap only lowers it, rounding is down), plus the minimum once (exact when the
 * minimum is zero, as in the defaults). What the platform holds on top of a buy's notional.
 */
export function feeBound(schedule: FeeSchedule, currency: string, notional: DecimalLike): Decimal {
  const rule = schedule[currency];
  if (!rule) return dec(0);
  return dec(notional).abs().mul(dec(rule.bps)).div(10_000).toDecimalPlaces(2, Decimal.ROUND_UP).add(rule.min);
}

/** Same as {@link computeFee}, as a decimal string with 2 dp. */
export function feeText(schedule: FeeSchedule, currency: string, notional: DecimalLike): string {
  return fmt(computeFee(schedule, currency, notional), 2);
}
