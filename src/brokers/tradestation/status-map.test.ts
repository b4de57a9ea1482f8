import { describe, expect, it } from 'vitest';
import { TRADESTATION_STATUS, tradeStationStatus } from './status-map.js';

describe('TradeStation status map', () => {
  // [TradeStation code, FilledQuantity, Quantity, ours]: one case per code.
  const cases: Array<[string, string, string, string]> = [
    ['ACK', '0', '10', 'OPEN'],
    ['PLA', '0', '10', 'OPEN'],
    ['DIS', '0', '10', 'OPEN'],
    ['DON', '0', '10', 'OPEN'],
    ['OPN', '0', '10', 'OPEN'],
    ['OSO', '0', '10', 'OPEN'],
    ['CND', '0', '10', 'OPEN'],
    ['STP', '0', '10', 'OPEN'],
    ['STT', '0', '10', 'OPEN'],
    ['SUS', '0', '10', 'OPEN'],
    ['CHG', '0', '10', 'OPEN'],
    ['COR', '4', '10', 'PARTIALLY_FILLED'],
    ['BRO', '0', '10', 'OPEN'],
    ['ASS', '0', '10', 'OPEN'],
    ['EXE', '0', '10', 'OPEN'],
    ['ECN', '0', '10', 'OPEN'],
    ['REC', '0', '10', 'OPEN'],
    ['OTHER', '0', '10', 'OPEN'],
    ['UCN', '3', '10', 'PARTIALLY_FILLED'],
    ['LAT', '0', '10', 'OPEN'],
    ['RPD', '0', '10', 'OPEN'],
    ['RSN', '0', '10', 'OPEN'],
    ['UCH', '0', '10', 'OPEN'],
    ['RJC', '0', '10', 'OPEN'],
    ['RJR', '0', '10', 'OPEN'],
    ['FPR', '4', '10', 'PARTIALLY_FILLED'],
    ['FLL', '10', '10', 'FILLED'],
    ['BRF', '10', '10', 'FILLED'],
    ['FLP', '4', '10', 'CANCELED'],
    ['OUT', '0', '10', 'CANCELED'],
    ['CAN', '0', '10', 'CANCELED'],
    ['SCN', '0', '10', 'CANCELED'],
    ['BRC', '0', '10', 'CANCELED'],
    ['EXP', '0', '10', 'EXPIRED'],
    ['REJ', '0', '10', 'REJECTED'],
    ['TSC', '0', '10', 'REJECTED'],
    ['DOA', '0', '10', 'REJECTED'],
  ];
  it.each(cases)('%s with %s of %s filled is %s', (code, filled, qty, ours) => {
    expect(tradeStationStatus(code, filled, qty)).toBe(ours);
  });

  it('covers every code of the table, once', () => {
    expect(cases.map((c) => c[0]).sort()).toEqual(Object.keys(TRADESTATION_STATUS).sort());
  });

  it('a live code whose filled quantity reaches the order quantity is FILLED (the fill came before the code)', () => {
    expect(tradeStationStatus('OPN', '10', '10')).toBe('FILLED');
    expect(tradeStationStatus('FPR', '10', '10')).toBe('FILLED');
  });

  it('an unknown code is live, never an end', () => {
    expect(tradeStationStatus('ZZZ', '0', '5')).toBe('OPEN');
    expect(tradeStationStatus('zzz', '2', '5')).toBe('PARTIALLY_FILLED');
  });
});
