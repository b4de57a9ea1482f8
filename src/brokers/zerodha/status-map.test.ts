import { describe, expect, it } from 'vitest';
import { KITE_STATUS, kiteStatus } from './status-map.js';

describe('Kite status map', () => {
  const cases: Array<[string, string, string]> = [
    ['PUT ORDER REQ RECEIVED', '0', 'OPEN'],
    ['VALIDATION PENDING', '0', 'OPEN'],
    ['OPEN PENDING', '0', 'OPEN'],
    ['AMO REQ RECEIVED', '0', 'OPEN'],
    ['OPEN', '0', 'OPEN'],
    ['TRIGGER PENDING', '0', 'OPEN'],
    ['MODIFY VALIDATION PENDING', '0', 'OPEN'],
    ['MODIFY PENDING', '0', 'OPEN'],
    ['NOT MODIFIED', '0', 'OPEN'],
    ['MODIFIED', '0', 'OPEN'],
    ['CANCEL PENDING', '0', 'OPEN'],
    ['COMPLETE', '10', 'FILLED'],
    ['CANCELLED', '0', 'CANCELED'],
    ['CANCELLED AMO', '0', 'CANCELED'],
    ['REJECTED', '0', 'REJECTED'],
  ];
  it.each(cases)('%s with %s filled is %s', (kite, filled, ours) => {
    expect(kiteStatus(kite, filled)).toBe(ours);
  });

  it('covers every status in the table', () => {
    expect(cases.map((c) => c[0]).sort()).toEqual(Object.keys(KITE_STATUS).sort());
  });

  it('an OPEN order with a filled quantity is PARTIALLY_FILLED (Kite has no such status)', () => {
    expect(kiteStatus('OPEN', '3')).toBe('PARTIALLY_FILLED');
    expect(kiteStatus('CANCEL PENDING', '3')).toBe('PARTIALLY_FILLED');
  });

  it('a CANCELLED order that had filled part keeps CANCELED (the fills are applied before the end)', () => {
    expect(kiteStatus('CANCELLED', '3')).toBe('CANCELED');
  });

  it('an unknown new status is treated as live, never as an end', () => {
    expect(kiteStatus('SOMETHING NEW', '0')).toBe('OPEN');
  });
});
