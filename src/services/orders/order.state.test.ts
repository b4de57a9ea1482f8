import { describe, expect, it } from 'vitest';
import { canTransition, IllegalTransitionError, ORDER_STATUSES, statusAfterFill, transition, isTerminal } from './order.state.js';

describe('order state machine', () => {
  it('follows the happy path PENDING → SUBMITTING → OPEN → PARTIALLY_FILLED → FILLED', () => {
    let s = transition('PENDING', 'SUBMITTING');
    s = transition(s, 'OPEN');
    s = transition(s, 'PARTIALLY_FILLED');
    s = transition(s, 'FILLED');
    expect(s).toBe('FILLED');
  });

  it('lets nothing leave a terminal status', () => {
    for (const from of ORDER_STATUSES.filter(isTerminal)) {
      for (const to of ORDER_STATUSES) expect(canTransition(from, to)).toBe(false);
    }
  });

  it('refuses to reopen a filled order or to fill a pending one directly', () => {
    expect(() => transition('FILLED', 'OPEN')).toThrow(IllegalTransitionError);
    expect(() => transition('PENDING', 'FILLED')).toThrow(IllegalTransitionError);
    expect(() => transition('OPEN', 'PENDING')).toThrow(IllegalTransitionError);
  });

  it('allows a market order to fill inside the broker call (SUBMITTING → FILLED)', () => {
    expect(canTransition('SUBMITTING', 'FILLED')).toBe(true);
    expect(canTransition('SUBMITTING', 'PARTIALLY_FILLED')).toBe(true);
  });

  it('keeps CANCEL_REQUESTED on a partial fill and completes on the last one', () => {
    expect(statusAfterFill('CANCEL_REQUESTED', { isComplete: false })).toBe('CANCEL_REQUESTED');
    expect(statusAfterFill('CANCEL_REQUESTED', { isComplete: true })).toBe('FILLED');
    expect(statusAfterFill('OPEN', { isComplete: false })).toBe('PARTIALLY_FILLED');
    expect(statusAfterFill('PARTIALLY_FILLED', { isComplete: true })).toBe('FILLED');
  });

  it('refuses a fill on a canceled order', () => {
    expect(() => statusAfterFill('CANCELED', { isComplete: false })).toThrow(IllegalTransitionError);
  });

  it('every non-terminal status can still end (no dead ends)', () => {
    for (const s of ORDER_STATUSES.filter((x) => !isTerminal(x))) {
      expect(ORDER_STATUSES.some((t) => isTerminal(t) && canTransition(s, t))).toBe(true);
    }
  });
});
