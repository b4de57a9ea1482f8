import { describe, expect, it } from 'vitest';
import { InsufficientFundsError, InsufficientQuantityError, RiskLimitError } from '../../errors.js';
import { Decimal } from '../../lib/decimal.js';
import { cashToReserve, checkBuyingPower, checkNotional, checkSellable } from './order.risk.js';

const d = (s: string) => new Decimal(s);

describe('pre-trade risk rules', () => {
  it('buying 10 at 2500.05 with exactly 25000.50 available is allowed; one paisa less is not', () => {
    const reserve = cashToReserve(d('10'), d('2500.05'));
    expect(reserve.toFixed()).toBe('25000.5');
    expect(() => checkBuyingPower(d('25000.50'), reserve)).not.toThrow();
    expect(() => checkBuyingPower(d('25000.49'), reserve)).toThrow(InsufficientFundsError);
  });

  it('reserves rounded up, never down, for fractional quantities', () => {
    expect(cashToReserve(d('0.333333333'), d('3')).toFixed()).toBe('1');
    expect(cashToReserve(d('1'), d('0.123456789')).toFixed()).toBe('0.12345679');
  });

  it('reports the shortfall in the error details', () => {
    try {
      checkBuyingPower(d('100'), d('150.5'));
      expect.unreachable();
    } catch (err) {
      expect((err as InsufficientFundsError).details).toEqual({ required: '150.50', available: '100.00' });
    }
  });

  it('selling what is held but already promised to another open sell is refused', () => {
    expect(() => checkSellable(d('10'), d('6'), d('4'))).not.toThrow();
    expect(() => checkSellable(d('10'), d('6'), d('5'))).toThrow(InsufficientQuantityError);
    expect(() => checkSellable(d('0'), d('0'), d('1'))).toThrow(InsufficientQuantityError);
  });

  it('refuses a fat-finger notional above the limit', () => {
    expect(checkNotional(d('1000'), d('99.99'), '100000').toFixed()).toBe('99990');
    expect(() => checkNotional(d('1000'), d('100.01'), '100000')).toThrow(RiskLimitError);
  });
});
