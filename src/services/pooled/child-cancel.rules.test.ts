import { describe, expect, it } from 'vitest';
import { planChildCancel, type ParentView } from './child-cancel.rules.js';

const parent = (over: Partial<ParentView> = {}): ParentView => ({ side: 'BUY', status: 'PARTIALLY_FILLED', quantity: '100', filledQuantity: '40', brokerOrderId: 'b-1', ...over });

describe('canceling a pooled child after its window closed', () => {
  it('a buy child of a net-buy parent with room left reduces the parent by exactly its unfilled share', () => {
    const plan = planChildCancel(parent(), { side: 'BUY', quantity: '30', filledQuantity: '12' });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.share.toString()).toBe('18');
    expect(plan.fromQuantity.toString()).toBe('100');
    expect(plan.toQuantity.toString()).toBe('82');
  });

  it('one share less than the parent’s unfilled rest is allowed; equal to it is refused (the parent would be emptied)', () => {
    expect(planChildCancel(parent(), { side: 'BUY', quantity: '59', filledQuantity: '0' }).ok).toBe(true);
    const equal = planChildCancel(parent(), { side: 'BUY', quantity: '60', filledQuantity: '0' });
    expect(equal).toMatchObject({ ok: false, reason: 'PARENT_TOO_SMALL' });
  });

  it('a sell child of a net-buy parent (the crossed side) is refused: it would raise the net', () => {
    expect(planChildCancel(parent(), { side: 'SELL', quantity: '5', filledQuantity: '0' })).toMatchObject({ ok: false, reason: 'CROSSED_SIDE' });
  });

  it('a parent being placed, filled, canceled, or a zero-net window is refused', () => {
    for (const p of [parent({ status: 'SUBMITTING', brokerOrderId: null }), parent({ status: 'OPEN', brokerOrderId: null }), parent({ status: 'FILLED' }), parent({ status: 'CANCELED' })]) {
      expect(planChildCancel(p, { side: 'BUY', quantity: '5', filledQuantity: '0' })).toMatchObject({ ok: false, reason: 'PARENT_NOT_OPEN' });
    }
  });

  it('a child with nothing left unfilled is refused', () => {
    expect(planChildCancel(parent(), { side: 'BUY', quantity: '5', filledQuantity: '5' })).toMatchObject({ ok: false, reason: 'NOTHING_UNFILLED' });
  });
});
