import { describe, expect, it } from 'vitest';
import { ANGEL_STATUS, angelStatus } from './status-map.js';

describe('Angel One status map', () => {
  const cases: Array<[string, string]> = [
    ['put order req received', 'OPEN'],
    ['validation pending', 'OPEN'],
    ['open pending', 'OPEN'],
    ['after market order req received', 'OPEN'],
    ['open', 'OPEN'],
    ['trigger pending', 'OPEN'],
    ['modify pending', 'OPEN'],
    ['modify validation pending', 'OPEN'],
    ['modified', 'OPEN'],
    ['not modified', 'OPEN'],
    ['cancel pending', 'OPEN'],
    ['complete', 'FILLED'],
    ['rejected', 'REJECTED'],
    ['cancelled', 'CANCELED'],
  ];
  it.each(cases)('%s is %s', (a, ours) => expect(angelStatus(a, '0')).toBe(ours));
  it('covers every status in the table', () => expect(cases.map((c) => c[0]).sort()).toEqual(Object.keys(ANGEL_STATUS).sort()));
  it('open with filled shares is PARTIALLY_FILLED; unknown statuses are live', () => {
    expect(angelStatus('open', '2')).toBe('PARTIALLY_FILLED');
    expect(angelStatus('Something New', '0')).toBe('OPEN');
  });
});
