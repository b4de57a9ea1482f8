import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../errors.js';
import { Decimal } from '../../lib/decimal.js';
import { reservationPrice, validateClientOrderId, validateOrder, type PlaceOrderRequest } from './order.validation.js';

const NSE = { lotSize: '1', tickSize: '0.05' };
const base: PlaceOrderRequest = { portfolioId: 'p', symbol: 'RELIANCE', side: 'BUY', type: 'LIMIT', quantity: '10', limitPrice: '2500.05' };

function reason(fn: () => unknown): { field?: unknown; reason?: unknown } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BadInputError);
    return (err as BadInputError).details ?? {};
  }
  throw new Error('expected a BadInputError');
}

describe('order validation', () => {
  it('accepts a limit buy on the tick grid and defaults to DAY', () => {
    const v = validateOrder(base, NSE);
    expect(v.quantity.toFixed()).toBe('10');
    expect(v.limitPrice?.toFixed()).toBe('2500.05');
    expect(v.timeInForce).toBe('DAY');
  });

  it.each([
    ['zero', '0', 'INVALID_QUANTITY'],
    ['negative', '-5', 'INVALID_QUANTITY'],
    ['absurdly large', '100000000000', 'INVALID_QUANTITY'],
    ['over-precise', '1.123456789', 'INVALID_QUANTITY'],
    ['fractional on a lot of 1', '1.5', 'LOT_SIZE'],
  ])('refuses a %s quantity', (_n, quantity, why) => {
    expect(reason(() => validateOrder({ ...base, quantity }, NSE))).toEqual({ field: 'quantity', reason: why });
  });

  it('refuses a limit order without a limit price', () => {
    expect(reason(() => validateOrder({ ...base, limitPrice: null }, NSE))).toEqual({ field: 'limitPrice', reason: 'MISSING_PRICE' });
  });

  it('refuses a price off the tick grid', () => {
    expect(reason(() => validateOrder({ ...base, limitPrice: '2500.03' }, NSE))).toEqual({ field: 'limitPrice', reason: 'OFF_TICK' });
  });

  it('refuses a stop-limit without a stop price and a market order with a limit price', () => {
    expect(reason(() => validateOrder({ ...base, type: 'STOP_LIMIT' }, NSE))).toEqual({ field: 'stopPrice', reason: 'MISSING_PRICE' });
    expect(reason(() => validateOrder({ ...base, type: 'MARKET' }, NSE))).toEqual({ field: 'limitPrice', reason: 'UNEXPECTED_PRICE' });
  });

  it('refuses GTC market orders', () => {
    expect(reason(() => validateOrder({ ...base, type: 'MARKET', limitPrice: null, timeInForce: 'GTC' }, NSE)).field).toBe('timeInForce');
  });

  it('respects a lot size above one', () => {
    expect(reason(() => validateOrder({ ...base, quantity: '30' }, { lotSize: '25', tickSize: '0.05' })).reason).toBe('LOT_SIZE');
    expect(validateOrder({ ...base, quantity: '50' }, { lotSize: '25', tickSize: '0.05' }).quantity.toFixed()).toBe('50');
  });

  it('sizes a market buy hold above the ask and a limit buy at the limit', () => {
    const market = validateOrder({ ...base, type: 'MARKET', limitPrice: null }, NSE);
    expect(reservationPrice(market, new Decimal('100'), new Decimal('0.05')).toFixed()).toBe('105');
    expect(reservationPrice(validateOrder(base, NSE), new Decimal('3000'), new Decimal('0.05')).toFixed()).toBe('2500.05');
  });

  it('checks client order ids', () => {
    expect(validateClientOrderId('bot-42:2026.01.05_1')).toBe('bot-42:2026.01.05_1');
    expect(() => validateClientOrderId('has space')).toThrow(BadInputError);
    expect(() => validateClientOrderId('x'.repeat(65))).toThrow(BadInputError);
  });
});
