import { BadInputError } from '../../errors.js';
import { Decimal, dec, isMultipleOf } from '../../lib/decimal.js';

export type OrderSide = 'BUY' | 'SELL';
export type OrderType = 'MARKET' | 'LIMIT' | 'STOP' | 'STOP_LIMIT';
export type TimeInForce = 'DAY' | 'GTC' | 'IOC';

export interface PlaceOrderRequest {
  portfolioId: string;
  symbol: string;
  exchange?: string | null;
  side: OrderSide;
  type: OrderType;
  quantity: string;
  limitPrice?: string | null;
  stopPrice?: string | null;
  timeInForce?: TimeInForce | null;
  clientOrderId?: string | null;
}

export interface InstrumentRules {
  lotSize: string;
  tickSize: string;
}

export interface ValidOrder {
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  quantity: Decimal;
  limitPrice: Decimal | null;
  stopPrice: Decimal | null;
}

/** Far beyond any real order, small enough that notional arithmetic stays exact in numeric(24,8). */
export const MAX_QUANTITY = new Decimal('1000000000');
export const MAX_PRICE = new Decimal('100000000');
const MAX_SCALE = 8;
const CLIENT_ORDER_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function validateClientOrderId(id: string): string {
  if (!CLIENT_ORDER_ID.test(id)) {
    throw new BadInputError('clientOrderId must be 1–64 characters of letters, digits, . _ : -', 'clientOrderId', 'INVALID_CLIENT_ORDER_ID');
  }
  return id;
}

function positive(field: 'quantity' | 'limitPrice' | 'stopPrice', raw: string, max: Decimal, reason: string): Decimal {
  const v = dec(raw);
  if (!v.isFinite() || v.lte(0)) throw new BadInputError(`${field} must be greater than zero`, field, reason);
  if (v.gt(max)) throw new BadInputError(`${field} must be at most ${max.toFixed()}`, field, reason);
  if (v.decimalPlaces() > MAX_SCALE) throw new BadInputError(`${field} has more than ${MAX_SCALE} decimal places`, field, reason);
  return v;
}

/**
 * Check an order's shape against the instrument's rules: quantity > 0 and a lot multiple; limit and stop
 * prices present exactly when the type needs them, positive and on the tick grid; a time in force that
 * fits the type. Throws BAD_USER_INPUT naming the field.
 */
export function validateOrder(req: PlaceOrderRequest, rules: InstrumentRules): ValidOrder {
  const quantity = positive('quantity', req.quantity, MAX_QUANTITY, 'INVALID_QUANTITY');
  if (!isMultipleOf(quantity, rules.lotSize)) {
    throw new BadInputError(`quantity must be a multiple of the lot size ${dec(rules.lotSize).toFixed()}`, 'quantity', 'LOT_SIZE');
  }
  const needsLimit = req.type === 'LIMIT' || req.type === 'STOP_LIMIT';
  const needsStop = req.type === 'STOP' || req.type === 'STOP_LIMIT';
  const price = (field: 'limitPrice' | 'stopPrice', raw: string | null | undefined, needed: boolean): Decimal | null => {
    if (raw === null || raw === undefined) {
      if (needed) throw new BadInputError(`${field} is required for ${req.type} orders`, field, 'MISSING_PRICE');
      return null;
    }
    if (!needed) throw new BadInputError(`${field} is not allowed for ${req.type} orders`, field, 'UNEXPECTED_PRICE');
    const v = positive(field, raw, MAX_PRICE, 'INVALID_PRICE');
    if (!isMultipleOf(v, rules.tickSize)) {
      throw new BadInputError(`${field} must be a multiple of the tick size ${dec(rules.tickSize).toFixed()}`, field, 'OFF_TICK');
    }
    return v;
  };
  const limitPrice = price('limitPrice', req.limitPrice, needsLimit);
  const stopPrice = price('stopPrice', req.stopPrice, needsStop);
  const timeInForce = req.timeInForce ?? 'DAY';
  if (timeInForce === 'GTC' && (req.type === 'MARKET' || req.type === 'STOP')) {
    // Like most brokers: a market order is for now, not until canceled.
    throw new BadInputError(`${req.type} orders cannot be GTC`, 'timeInForce', 'INVALID_TIME_IN_FORCE');
  }
  return { side: req.side, type: req.type, timeInForce, quantity, limitPrice, stopPrice };
}

/**
 * The price a buy's cash hold is sized at: the limit for limit orders; for market and stop orders the
 * worse of the current ask (or stop) plus a buffer, since the fill price is not known in advance.
 */
export function reservationPrice(order: ValidOrder, ask: Decimal | null, bufferFraction: Decimal): Decimal {
  if (order.type === 'LIMIT' || order.type === 'STOP_LIMIT') return order.limitPrice!;
  const ref = Decimal.max(ask ?? 0, order.stopPrice ?? 0);
  return ref.mul(bufferFraction.add(1));
}

/** A stable fingerprint of the parameters, to tell an idempotent retry from a conflicting reuse. */
export function requestFingerprint(portfolioId: string, instrumentId: string, o: ValidOrder): string {
  return [portfolioId, instrumentId, o.side, o.type, o.timeInForce, o.quantity.toFixed(), o.limitPrice?.toFixed() ?? '', o.stopPrice?.toFixed() ?? ''].join('|');
}
