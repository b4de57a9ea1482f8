import { InsufficientFundsError, InsufficientQuantityError, RiskLimitError } from '../../errors.js';
import { Decimal, dec, fmt, fmtAvailable } from '../../lib/decimal.js';

/**
 * Pre-trade risk rules, pure so they can be tested alone. The service runs them inside the placing
 * transaction, with the portfolio locked, so the balances they see cannot change underneath.
 */

/** Notional above the per-order limit is refused (a fat-finger guard). */
export function checkNotional(quantity: Decimal, price: Decimal, maxNotional: string): Decimal {
  const notional = quantity.mul(price);
  if (notional.gt(maxNotional)) {
    throw new RiskLimitError(`Order notional ${fmt(notional, 2)} exceeds the limit ${maxNotional}`, { notional: fmt(notional, 2), limit: maxNotional });
  }
  return notional;
}

/** Cash a buy reserves: its notional at the reservation price, rounded up to 8 places (never under-held). */
export function cashToReserve(quantity: Decimal, reservationPrice: Decimal): Decimal {
  return quantity.mul(reservationPrice).toDecimalPlaces(8, Decimal.ROUND_UP);
}

/** A buy needs its whole reserve in available cash (cash minus other open buys' holds). */
export function checkBuyingPower(available: Decimal, reserve: Decimal): void {
  if (available.lt(reserve)) throw new InsufficientFundsError(fmt(reserve, 2), fmtAvailable(available));
}

/** A sell needs the quantity held and not already promised to other open sells (no shorting). */
export function checkSellable(held: Decimal, promised: Decimal, quantity: Decimal): void {
  const free = dec(held).sub(promised);
  if (free.lt(quantity)) throw new InsufficientQuantityError(fmt(quantity), fmt(Decimal.max(free, 0)));
}
