import { describe, expect, it } from 'vitest';
import { ALPACA_STATUS, alpacaStatus } from './status-map.js';

describe('Alpaca status map', () => {
  // [Alpaca status, filled_qty, qty, ours]
  const cases: Array<[string, string, string, string]> = [
    ['new', '0', '10', 'OPEN'],
    ['partially_filled', '4', '10', 'PARTIALLY_FILLED'],
    ['filled', '10', '10', 'FILLED'],
    ['done_for_day', '0', '10', 'OPEN'],
    ['canceled', '0', '10', 'CANCELED'],
    ['expired', '0', '10', 'EXPIRED'],
    ['replaced', '0', '10', 'CANCELED'],
    ['pending_cancel', '0', '10', 'OPEN'],
    ['pending_replace', '0', '10', 'OPEN'],
    ['pending_review', '0', '10', 'OPEN'],
    ['accepted', '0', '10', 'OPEN'],
    ['pending_new', '0', '10', 'OPEN'],
    ['accepted_for_bidding', '0', '10', 'OPEN'],
    ['stopped', '0', '10', 'OPEN'],
    ['rejected', '0', '10', 'REJECTED'],
    ['suspended', '0', '10', 'OPEN'],
    ['calculated', '0', '10', 'OPEN'],
    ['held', '0', '10', 'OPEN'],
  ];
  it.each(cases)('%s with %s of %s filled is %s', (alpaca, filled, qty, ours) => {
    expect(alpacaStatus(alpaca, filled, qty)).toBe(ours);
  });

  it('covers all 18 documented statuses', () => {
    expect(cases).toHaveLength(18);
    expect(cases.map((c) => c[0]).sort()).toEqual(Object.keys(ALPACA_STATUS).sort());
  });

  it('a live order with part filled is PARTIALLY_FILLED, and with all filled is FILLED', () => {
    expect(alpacaStatus('done_for_day', '3', '10')).toBe('PARTIALLY_FILLED');
    expect(alpacaStatus('pending_cancel', '3', '10')).toBe('PARTIALLY_FILLED');
    expect(alpacaStatus('calculated', '10', '10')).toBe('FILLED');
    expect(alpacaStatus('partially_filled', '0.5', '1.25')).toBe('PARTIALLY_FILLED');
  });

  it('an end keeps its status whatever was filled before it', () => {
    expect(alpacaStatus('canceled', '3', '10')).toBe('CANCELED');
    expect(alpacaStatus('expired', '3', '10')).toBe('EXPIRED');
  });

  it('an unknown new status is treated as live, never as an end', () => {
    expect(alpacaStatus('something_new', '0', '10')).toBe('OPEN');
  });
});
