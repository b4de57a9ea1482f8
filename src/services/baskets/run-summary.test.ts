import { describe, expect, it } from 'vitest';
import { finalStatus, sellProceeds, summarize, type RunOrderView } from './run-summary.js';

const order = (over: Partial<RunOrderView>): RunOrderView => ({
  id: 'o1',
  instrumentId: 'i1',
  side: 'BUY',
  quantity: '10',
  filledQuantity: '10',
  averageFillPrice: '100',
  filledValue: '1000',
  feesPaid: '0.30',
  status: 'FILLED',
  rejectReason: null,
  ...over,
});

describe('run summary: how a basket run ends', () => {
  it('every line filled in full is COMPLETED', () => {
    expect(finalStatus(summarize([order({}), order({ id: 'o2' })], []))).toBe('COMPLETED');
  });

  it('one rejected order among filled ones is PARTIAL, with the broker’s reason', () => {
    const lines = summarize([order({}), order({ id: 'o2', status: 'REJECTED', filledQuantity: '0', averageFillPrice: null, rejectReason: 'insufficient margin' })], []);
    expect(finalStatus(lines)).toBe('PARTIAL');
    expect(lines[1]).toMatchObject({ status: 'REJECTED', reason: 'insufficient margin' });
  });

  it('a line refused before it became an order counts as REJECTED with its reason', () => {
    const lines = summarize([order({})], [{ instrumentId: 'i2', side: 'BUY', quantity: '5', reason: 'INSUFFICIENT_FUNDS' }]);
    expect(lines[1]).toMatchObject({ status: 'REJECTED', reason: 'INSUFFICIENT_FUNDS', filledQuantity: '0', orderId: null });
    expect(finalStatus(lines)).toBe('PARTIAL');
  });

  it('nothing filled at all is FAILED; a cancel after a partial fill is PARTIAL', () => {
    expect(finalStatus(summarize([order({ status: 'FAILED', filledQuantity: '0' })], []))).toBe('FAILED');
    expect(finalStatus(summarize([order({ status: 'CANCELED', filledQuantity: '4' })], []))).toBe('PARTIAL');
  });

  it('sell proceeds are the fills’ quantity × price less fees, not filled × the rounded average price; buys ignored', () => {
    // Fills 1 @ 101.50 and 2 @ 101.55: the average 101.53333333 is rounded, the fills are exact.
    const sell = order({ side: 'SELL', filledQuantity: '3', averageFillPrice: '101.53333333', filledValue: '304.60', feesPaid: '0.09' });
    expect(sellProceeds([sell, order({})])).toBe('304.51000000');
  });
});
