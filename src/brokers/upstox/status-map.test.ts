import { describe, expect, it } from 'vitest';
import { UPSTOX_STATUS, upstoxStatus } from './status-map.js';

describe('Upstox status map', () => {
  const cases: Array<[string, string]> = [
    ['put order req received', 'OPEN'],
    ['validation pending', 'OPEN'],
    ['open pending', 'OPEN'],
    ['open', 'OPEN'],
    ['trigger pending', 'OPEN'],
    ['modify pending', 'OPEN'],
    ['modify validation pending', 'OPEN'],
    ['modified', 'OPEN'],
    ['not modified', 'OPEN'],
    ['cancel pending', 'OPEN'],
    ['not cancelled', 'OPEN'],
    ['after market order req received', 'OPEN'],
    ['modify after market order req received', 'OPEN'],
    ['complete', 'FILLED'],
    ['rejected', 'REJECTED'],
    ['cancelled', 'CANCELED'],
    ['cancelled after market order', 'CANCELED'],
  ];
  it.each(cases)('%s is %s', (upstox, ours) => expect(upstoxStatus(upstox, '0')).toBe(ours));
  it('covers every status in the table', () => expect(cases.map((c) => c[0]).sort()).toEqual(Object.keys(UPSTOX_STATUS).sort()));
  it('an open order with filled quantity is PARTIALLY_FILLED', () => expect(upstoxStatus('open', '4')).toBe('PARTIALLY_FILLED'));
  it('reads statuses case-insensitively and treats unknown ones as live', () => {
    expect(upstoxStatus('COMPLETE', '1')).toBe('FILLED');
    expect(upstoxStatus('brand new status', '0')).toBe('OPEN');
  });
});
