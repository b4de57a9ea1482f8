import { describe, expect, it } from 'vitest';
import { ConfirmPolicy } from './confirm-policy.js';

describe('IBKR confirmation policy (BROKER_IBKR_CONFIRM)', () => {
  const q = (messageIds: string[], message: string[]) => ({ id: 'r1', messageIds, message, isSuppressed: false });

  it('confirms nothing when empty, and names the refused message', () => {
    expect(new ConfirmPolicy('').disallowed(q(['o163'], ['price limit']))).toEqual(['price limit']);
  });

  it('confirms a reply whose every message id is listed (any case), not one with an unlisted id', () => {
    const p = new ConfirmPolicy('o163, O354');
    expect(p.disallowed(q(['o163'], ['a']))).toEqual([]);
    expect(p.disallowed(q(['o163', 'o354'], ['a', 'b']))).toEqual([]);
    expect(p.disallowed(q(['o163', 'o10331'], ['a', 'b']))).toEqual(['a', 'b']);
  });

  it('confirms by /regex/ on every text, commas inside a pattern included', () => {
    const p = new ConfirmPolicy('/exceeds the (price|size), or percentage constraint/i,o1');
    expect(p.describe()).toContain('o1');
    expect(p.disallowed(q(['o999'], ['Order EXCEEDS the size, or percentage constraint']))).toEqual([]);
    expect(p.disallowed(q(['o999'], ['Order exceeds the size, or percentage constraint', 'no market data']))).toEqual(['Order exceeds the size, or percentage constraint', 'no market data']);
  });

  it('refuses a reply that says nothing rather than confirming it blindly', () => {
    expect(new ConfirmPolicy('/.*/').disallowed({ id: 'r' })).toEqual(['(a confirmation IB did not describe)']);
  });
});
