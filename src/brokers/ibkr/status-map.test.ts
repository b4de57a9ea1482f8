import { describe, expect, it } from 'vitest';
import { IBKR_STATUS, ibkrStatus } from './status-map.js';

describe('IBKR order status table', () => {
  const cases: Array<[string, string, string, string]> = [
    ['ApiPending', '0', '10', 'OPEN'],
    ['PendingSubmit', '0', '10', 'OPEN'],
    ['PreSubmitted', '0', '10', 'OPEN'],
    ['Submitted', '0', '10', 'OPEN'],
    ['PendingCancel', '0', '10', 'OPEN'],
    ['ApiCancelled', '0', '10', 'CANCELED'],
    ['Cancelled', '0', '10', 'CANCELED'],
    ['Filled', '10', '10', 'FILLED'],
    ['Inactive', '0', '10', 'REJECTED'],
    ['Rejected', '0', '10', 'REJECTED'],
    ['Expired', '0', '10', 'EXPIRED'],
    ['WarnState', '0', '10', 'OPEN'],
    ['SortByTime', '0', '10', 'OPEN'],
  ];
  it.each(cases)('%s with %s of %s filled is %s', (ib, filled, qty, ours) => {
    expect(ibkrStatus(ib, filled, qty)).toBe(ours);
  });

  it('has a test case for every status in the table', () => {
    expect(cases.map((c) => c[0]).sort()).toEqual(Object.keys(IBKR_STATUS).sort());
  });

  it('a working order with part filled is PARTIALLY_FILLED (IB has no partial status), all filled is FILLED', () => {
    expect(ibkrStatus('Submitted', '3', '10')).toBe('PARTIALLY_FILLED');
    expect(ibkrStatus('PendingCancel', '3', '10')).toBe('PARTIALLY_FILLED');
    expect(ibkrStatus('Submitted', '10', '10')).toBe('FILLED');
  });

  it('an end keeps its status whatever was filled before it, and the words are matched without case', () => {
    expect(ibkrStatus('Cancelled', '3', '10')).toBe('CANCELED');
    expect(ibkrStatus('cancelled', '0', '10')).toBe('CANCELED');
    expect(ibkrStatus('FILLED', '10', '10')).toBe('FILLED');
  });

  it('an unknown new status is treated as live, never as an end', () => {
    expect(ibkrStatus('SomethingNew', '0', '10')).toBe('OPEN');
  });
});
