import { describe, expect, it } from 'vitest';
import { FYERS_STATUS, fyersStatus } from './status-map.js';

describe('Fyers status map', () => {
  const cases: Array<[number, string]> = [
    [1, 'CANCELED'],
    [2, 'FILLED'],
    [3, 'OPEN'],
    [4, 'OPEN'],
    [5, 'REJECTED'],
    [6, 'OPEN'],
    [7, 'EXPIRED'],
  ];
  it.each(cases)('status %i is %s', (f, ours) => expect(fyersStatus(f, '0')).toBe(ours));
  it('covers every status in the table', () => expect(cases.map((c) => String(c[0]))).toEqual(Object.keys(FYERS_STATUS)));
  it('pending (6) or transit (4) with a filled quantity is PARTIALLY_FILLED', () => {
    expect(fyersStatus(6, '5')).toBe('PARTIALLY_FILLED');
    expect(fyersStatus(4, '1')).toBe('PARTIALLY_FILLED');
  });
  it('an expired order (7) that filled part stays EXPIRED; an unknown code is live', () => {
    expect(fyersStatus(7, '2')).toBe('EXPIRED');
    expect(fyersStatus(42, '0')).toBe('OPEN');
  });
});
