import { describe, expect, it } from 'vitest';
import { FillLedger } from './fill-ledger.js';
import type { TsOrder } from './wire.js';

const order = (filled: string, avg: string, commission: string, extra: Partial<TsOrder> = {}): TsOrder => ({
  AccountID: '11000001',
  OrderID: '900',
  Status: 'FPR',
  FilledPrice: avg,
  CommissionFee: commission,
  Legs: [{ Symbol: 'MSFT', BuyOrSell: 'Buy', QuantityOrdered: '10', ExecQuantity: filled, ExecutionPrice: avg }],
  ...extra,
});

describe('TradeStation fill ledger', () => {
  it('turns each rise of the cumulative quantity into one fill: price from the rise of the notional, fee from the rise of the commission', () => {
    const l = new FillLedger();
    expect(l.observe('a', order('0', '0', '0'), 't0')).toEqual([]);
    expect(l.observe('a', order('2', '100', '1'), 't1')).toEqual([{ brokerFillId: '900@2', brokerOrderId: '900', quantity: '2', price: '100', fee: '1', executedAt: 't1' }]);
    // 3 more at 101: the average becomes 100.6 (5 × 100.6 − 2 × 100 = 303 = 3 × 101).
    expect(l.observe('a', order('5', '100.6', '2.5'), 't2')).toEqual([{ brokerFillId: '900@5', brokerOrderId: '900', quantity: '3', price: '101', fee: '1.5', executedAt: 't2' }]);
    expect(l.fills('a', '900').map((f) => f.brokerFillId)).toEqual(['900@2', '900@5']);
  });

  it('a repeated or older state adds nothing; the same order under another account is apart', () => {
    const l = new FillLedger();
    l.observe('a', order('4', '50', '1'), 't1');
    expect(l.observe('a', order('4', '50', '1'), 't2')).toEqual([]);
    expect(l.observe('a', order('2', '50', '1'), 't3')).toEqual([]);
    expect(l.observe('b', order('4', '50', '1'), 't4')).toHaveLength(1);
  });

  it('reads the top-level FilledQuantity of stream messages, and dates the last fill at ClosedDateTime', () => {
    const l = new FillLedger();
    const [f] = l.observe('a', { ...order('0', '20', '0'), Quantity: '10', FilledQuantity: '10', Status: 'FLL', ClosedDateTime: '2026-11-27T15:00:00Z' }, 'now');
    expect(f).toMatchObject({ quantity: '10', price: '20', executedAt: '2026-11-27T15:00:00Z' });
  });
});
