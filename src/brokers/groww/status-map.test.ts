import { describe, expect, it } from 'vitest';
import { GROWW_STATUS, growwStatus } from './status-map.js';

describe('Groww status map', () => {
  const cases: Array<[string, string]> = [
    ['NEW', 'OPEN'],
    ['ACKED', 'OPEN'],
    ['APPROVED', 'OPEN'],
    ['TRIGGER_PENDING', 'OPEN'],
    ['MODIFICATION_REQUESTED', 'OPEN'],
    ['CANCELLATION_REQUESTED', 'OPEN'],
    ['EXECUTED', 'FILLED'],
    ['DELIVERY_AWAITED', 'FILLED'],
    ['COMPLETED', 'FILLED'],
    ['CANCELLED', 'CANCELED'],
    ['REJECTED', 'REJECTED'],
    ['FAILED', 'REJECTED'],
  ];
  it.each(cases)('%s (fully filled or not at all) is %s', (g, ours) => expect(growwStatus(g, ours === 'FILLED' ? '5' : '0', '5')).toBe(ours));
  it('covers every status in the table', () => expect(cases.map((c) => c[0]).sort()).toEqual(Object.keys(GROWW_STATUS).sort()));
  it('a working order with part filled is PARTIALLY_FILLED', () => {
    expect(growwStatus('APPROVED', '2', '5')).toBe('PARTIALLY_FILLED');
    expect(growwStatus('EXECUTED', '2', '5')).toBe('PARTIALLY_FILLED');
  });
  it('a cancelled order that filled part stays CANCELED; unknown statuses are live', () => {
    expect(growwStatus('CANCELLED', '2', '5')).toBe('CANCELED');
    expect(growwStatus('SOMETHING', '0', '5')).toBe('OPEN');
  });
});
