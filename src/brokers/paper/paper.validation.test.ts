import { describe, expect, it } from 'vitest';
import { BrokerRejectedError, type BrokerOrderRequest } from '../broker.js';
import { validateOrderRequest } from './paper.validation.js';

const base: BrokerOrderRequest = {
  clientOrderId: 'c-1',
  account: 'a-1',
  instrument: { symbol: 'NIFTYFUT', exchange: 'NFO', currency: 'INR', tickSize: '0.05', lotSize: '75' },
  side: 'BUY',
  type: 'LIMIT',
  timeInForce: 'DAY',
  quantity: '150',
  limitPrice: '22000.05',
};

function reasonOf(over: Partial<BrokerOrderRequest>): string | null {
  try {
    validateOrderRequest({ ...base, ...over });
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(BrokerRejectedError);
    return (err as BrokerRejectedError).reason;
  }
}

describe('paper order validation', () => {
  it('accepts a limit order of whole lots on the tick grid', () => {
    expect(reasonOf({})).toBeNull();
  });

  it.each([
    ['zero quantity', { quantity: '0' }, 'INVALID_QUANTITY'],
    ['negative quantity', { quantity: '-75' }, 'INVALID_QUANTITY'],
    ['a quantity that is not a number', { quantity: 'lots' }, 'INVALID_NUMBER'],
    ['a quantity off the lot size', { quantity: '100' }, 'OFF_LOT'],
    ['a limit price off the tick grid', { limitPrice: '22000.03' }, 'OFF_TICK'],
    ['a zero limit price', { limitPrice: '0' }, 'INVALID_PRICE'],
    ['a LIMIT without a limit price', { limitPrice: null }, 'MISSING_LIMIT_PRICE'],
    ['a MARKET with a limit price', { type: 'MARKET' as const }, 'UNEXPECTED_LIMIT_PRICE'],
    ['a STOP without a stop price', { type: 'STOP' as const, limitPrice: null }, 'MISSING_STOP_PRICE'],
    ['a STOP_LIMIT with an off-tick stop', { type: 'STOP_LIMIT' as const, stopPrice: '21990.01' }, 'OFF_TICK'],
    ['a LIMIT with a stop price', { stopPrice: '21990' }, 'UNEXPECTED_STOP_PRICE'],
    ['no client order id', { clientOrderId: '' }, 'INVALID_CLIENT_ORDER_ID'],
  ])('rejects %s', (_name, over, reason) => {
    expect(reasonOf(over)).toBe(reason);
  });

  it('accepts fractional quantities when the lot size allows them', () => {
    const us = { symbol: 'AAPL', exchange: 'NASDAQ', currency: 'USD', tickSize: '0.01', lotSize: '0.001' };
    expect(reasonOf({ instrument: us, quantity: '0.125', limitPrice: '190.01' })).toBeNull();
  });
});
