import { Rounding, roundToStep, type Decimal } from '../../lib/decimal.js';
import type { OrderSide, OrderType } from './order.validation.js';

/**
 * Market protection, as real brokers apply it (Kite's `market_protection`, exchanges' price bands): a buy
 * whose price is not known in advance (MARKET, or STOP once triggered) goes to the broker with a ceiling,
 * the price its cash hold was sized from. The broker never fills it above that price and cancels what
 * cannot fill within it, so no fill spends more than was held.
 *
 * The ceiling is the reservation price rounded DOWN to the tick grid: every fill price is on the grid,
 * so the cap loses nothing, and the hold (sized at the unrounded reservation price plus the broker's fee
 * bound) covers `quantity × ceiling + fees` for every way the order can fill.
 *
 * Sells get none: a sell's proceeds can fall short of the quote but never take cash below zero.
 * Limit and stop-limit orders carry their own limit, which the hold is sized at.
 */
export function protectionPrice(order: { side: OrderSide; type: OrderType }, reservationPrice: Decimal, tickSize: string): Decimal | null {
  if (order.side !== 'BUY' || (order.type !== 'MARKET' && order.type !== 'STOP')) return null;
  return roundToStep(reservationPrice, tickSize, Rounding.DOWN);
}
