import { describe, expect, it } from 'vitest';
import { planChildCancel, type ParentView } from './child-cancel.rules.js';

const parent = (over: Partial<ParentView> = {}): ParentView => ({ side: 'BUY', status: 'PARTIALLY_FILLED', quantity: '100', filledQuantity: '40', crossedQuantity: '0', brokerOrderId: 'b-1', ...over });

describe('canceling a pooled child after its window closed', () => {
  it('a buy child of a net-buy parent with room left reduces the parent by exactly its unfilled share', () => {
    // Σ remaining of the buys = parent unfilled (60) + crossed (0): the other buys have 42 left.
    const plan = planChildCancel(parent(), { side: 'BUY', quantity: '30', filledQuantity: '12' }, '42');
    expect(plan).toMatchObject({ ok: true, kind: 'REDUCE' });
    if (!plan.ok) return;
    expect(plan.share.toString()).toBe('18');
    expect(plan.fromQuantity.toString()).toBe('100');
    expect(plan.toQuantity.toString()).toBe('82');
  });

  it('the last buy with anything unfilled cancels the whole parent, keeping what had filled', () => {
    const plan = planChildCancel(parent(), { side: 'BUY', quantity: '60', filledQuantity: '0' }, '0');
    expect(plan).toMatchObject({ ok: true, kind: 'CANCEL' });
    if (!plan.ok) return;
    expect(plan.share.toString()).toBe('60');
    expect(plan.fromQuantity.toString()).toBe('100');
    expect(plan.toQuantity.toString()).toBe('40');
  });

  it('a member alone on the net side of a window with a crossed part cancels the parent once it has a fill to price the cross', () => {
    // Buys 130 (this child alone), sells 30: parent 100, crossed 30.
    const alone = { side: 'BUY' as const, quantity: '130', filledQuantity: '40' };
    expect(planChildCancel(parent({ crossedQuantity: '30' }), alone, '0')).toMatchObject({ ok: true, kind: 'CANCEL' });
    const unpriced = planChildCancel(parent({ crossedQuantity: '30', status: 'OPEN', filledQuantity: '0' }), { ...alone, filledQuantity: '0' }, '0');
    expect(unpriced).toMatchObject({ ok: false, reason: 'CROSS_NOT_PRICED' });
    // Without a crossed part, nothing needs a price: an unfilled parent is canceled.
    expect(planChildCancel(parent({ status: 'OPEN', filledQuantity: '0' }), { side: 'BUY', quantity: '100', filledQuantity: '0' }, '0')).toMatchObject({ ok: true, kind: 'CANCEL' });
  });

  it('one share less than the parent’s unfilled rest reduces; a share reaching into the crossed part others still share is refused', () => {
    // parent unfilled 60, crossed 30: Σ buys remaining 90.
    const p = parent({ crossedQuantity: '30' });
    expect(planChildCancel(p, { side: 'BUY', quantity: '59', filledQuantity: '0' }, '31')).toMatchObject({ ok: true, kind: 'REDUCE' });
    expect(planChildCancel(p, { side: 'BUY', quantity: '60', filledQuantity: '0' }, '30')).toMatchObject({ ok: false, reason: 'PARENT_TOO_SMALL' });
    expect(planChildCancel(p, { side: 'BUY', quantity: '70', filledQuantity: '0' }, '20')).toMatchObject({ ok: false, reason: 'PARENT_TOO_SMALL' });
  });

  it('a sell child of a net-buy parent (the crossed side) is refused: it would raise the net', () => {
    expect(planChildCancel(parent(), { side: 'SELL', quantity: '5', filledQuantity: '0' }, '60')).toMatchObject({ ok: false, reason: 'CROSSED_SIDE' });
  });

  it('a parent being placed, filled, canceled, or a zero-net window is refused', () => {
    for (const p of [parent({ status: 'SUBMITTING', brokerOrderId: null }), parent({ status: 'OPEN', brokerOrderId: null }), parent({ status: 'FILLED' }), parent({ status: 'CANCELED' })]) {
      expect(planChildCancel(p, { side: 'BUY', quantity: '5', filledQuantity: '0' }, '0')).toMatchObject({ ok: false, reason: 'PARENT_NOT_OPEN' });
    }
  });

  it('a child with nothing left unfilled is refused', () => {
    expect(planChildCancel(parent(), { side: 'BUY', quantity: '5', filledQuantity: '5' }, '60')).toMatchObject({ ok: false, reason: 'NOTHING_UNFILLED' });
  });
});
