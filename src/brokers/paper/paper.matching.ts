import type { BrokerOrderSide, BrokerOrderType } from '../broker.js';
import type { Quote } from '../../market/quote.js';
import { Rounding, dec, fmt, roundToStep, type Decimal } from '../../lib/decimal.js';

/** What the matcher needs to know about an order. Decimals are strings. */
export interface MatchableOrder {
  side: BrokerOrderSide;
  type: BrokerOrderType;
  /** Quantity still open (ordered minus filled). */
  remaining: string;
  limitPrice: string | null;
  stopPrice: string | null;
  /** A STOP / STOP_LIMIT whose stop has already been crossed. */
  triggered: boolean;
  tickSize: string;
  lotSize: string;
  /**
   * Market protection: the worst price this order may trade at (a buy's ceiling, a sell's floor), put on
   * the tick grid inward. Null or absent: unprotected.
   */
  protectionPrice?: string | null;
}

export interface MatchOptions {
  /** Slippage in basis points, applied against the trader (buys pay more, sells get less). */
  slippageBps: string;
}

export interface MatchResult {
  /** True when the order is (now) triggered; always true for MARKET and LIMIT. */
  triggered: boolean;
  /** The execution this quote allows, or null. */
  fill: { quantity: string; price: string } | null;
  /**
   * Present (true) when a triggered order's touch is beyond its protection price: nothing can trade
   * within protection, so the exchange cancels the unfilled rest (Kite's market protection).
   */
  protectionHit?: true;
}

/** Whether `last` has crossed a stop: a buy stop triggers at or above it, a sell stop at or below. */
export function stopCrossed(side: BrokerOrderSide, stopPrice: string, last: string): boolean {
  return side === 'BUY' ? dec(last).gte(stopPrice) : dec(last).lte(stopPrice);
}

/**
 * Match one order against one quote. Pure: no clock, no database.
 *
 * - STOP / STOP_LIMIT wait until `last` crosses the stop, then behave as MARKET / LIMIT.
 * - Buys take the ask, sells the bid; a LIMIT buy needs ask <= limit, a LIMIT sell bid >= limit.
 * - Market protection: an order with a protection price never trades beyond it (it caps the price like a
 *   limit); a quote whose touch is beyond it reports `protectionHit`, and the exchange cancels the rest.
 * - Slippage moves the price against the trader, then the price is put on the tick grid (buys round up,
 *   sells round down, i.e. also against the trader) and never beyond the limit.
 * - The quantity is capped by the displayed size on that side (a null size means unknown, so unlimited)
 *   and rounded down to the lot size; what is left stays open.
 */
export function matchOrder(order: MatchableOrder, quote: Quote, opts: MatchOptions): MatchResult {
  const isStop = order.type === 'STOP' || order.type === 'STOP_LIMIT';
  let triggered = !isStop || order.triggered;
  if (!triggered && order.stopPrice !== null && stopCrossed(order.side, order.stopPrice, quote.last)) triggered = true;
  if (!triggered) return { triggered, fill: null };

  const limited = order.type === 'LIMIT' || order.type === 'STOP_LIMIT';
  const buy = order.side === 'BUY';
  const touch = buy ? quote.ask : quote.bid;
  const size = buy ? quote.askSize : quote.bidSize;
  if (touch === null) return { triggered, fill: null };
  const protection = protectionCap(order);
  if (protection && (buy ? dec(touch).gt(protection) : dec(touch).lt(protection))) return { triggered, fill: null, protectionHit: true };
  const ownLimit = limited && order.limitPrice !== null ? dec(order.limitPrice) : null;
  // Protection acts as a limit: a protected market order is a limit order at its protection price.
  const limit = tighter(buy, ownLimit, protection);
  if (limit && (buy ? dec(touch).gt(limit) : dec(touch).lt(limit))) return { triggered, fill: null };

  const price = fillPrice(buy, dec(touch), limit, order.tickSize, opts.slippageBps);
  if (price === null) return { triggered, fill: null };

  let quantity = dec(order.remaining);
  if (size !== null && dec(size).lt(quantity)) quantity = dec(size);
  quantity = roundToStep(quantity, order.lotSize, Rounding.DOWN);
  if (quantity.lte(0)) return { triggered, fill: null };
  return { triggered, fill: { quantity: fmt(quantity), price: fmt(price) } };
}

function fillPrice(buy: boolean, touch: Decimal, limit: Decimal | null, tickSize: string, slippageBps: string): Decimal | null {
  const slip = dec(slippageBps).div(10_000);
  const raw = buy ? touch.mul(dec(1).plus(slip)) : touch.mul(dec(1).minus(slip));
  let price = roundToStep(raw, tickSize, buy ? Rounding.UP : Rounding.DOWN);
  if (limit) price = buy ? minDec(price, limit) : maxDec(price, limit);
  // A sell slipped to zero or below is no trade: a price is always at least one tick.
  if (price.lte(0)) return null;
  return price;
}

/** The protection price on the tick grid, rounded inward (down for a buy's ceiling, up for a sell's floor). */
function protectionCap(order: MatchableOrder): Decimal | null {
  if (order.protectionPrice == null) return null;
  return roundToStep(order.protectionPrice, order.tickSize, order.side === 'BUY' ? Rounding.DOWN : Rounding.UP);
}

/** The stricter of two optional limits: the lower for a buy, the higher for a sell. */
function tighter(buy: boolean, a: Decimal | null, b: Decimal | null): Decimal | null {
  if (!a || !b) return a ?? b;
  return buy ? minDec(a, b) : maxDec(a, b);
}

function minDec(a: Decimal, b: Decimal): Decimal {
  return a.lte(b) ? a : b;
}

function maxDec(a: Decimal, b: Decimal): Decimal {
  return a.gte(b) ? a : b;
}
