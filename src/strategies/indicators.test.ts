import { describe, expect, it } from 'vitest';
import { macd, vwap, type CandleInput } from './indicators.js';
import { Decimal } from '../lib/decimal.js';

const candle = (close: string, volume = '100'): CandleInput => ({
  high: new Decimal(close).add(1).toFixed(2),
  low: new Decimal(close).sub(1).toFixed(2),
  close,
  volume,
});

describe('indicators', () => {
  it('weights VWAP by volume, from typical prices, as decimal strings', () => {
    // typical 9.5 × 100, then 10.5 × 200: (950 + 2100) / 300 = 10.1667
    const v = vwap([
      { high: '10', low: '9', close: '9.5', volume: '100' },
      { high: '11', low: '10', close: '10.5', volume: '200' },
    ]);
    expect(v).toEqual(['9.5', '10.1667']);
  });

  it('gives MACD zero on a flat market and a positive histogram when prices turn up', () => {
    const flat = Array.from({ length: 40 }, () => candle('100.00'));
    const points = macd(flat);
    expect(points.length).toBe(40 - 26 - 9 + 2);
    expect(points.every((p) => p.macd === '0' && p.signal === '0' && p.histogram === '0')).toBe(true);
    const rising = [...flat, ...Array.from({ length: 5 }, (_, i) => candle((101 + i).toFixed(2)))];
    const last = macd(rising).at(-1)!;
    expect(new Decimal(last.macd).gt(0)).toBe(true);
    expect(new Decimal(last.histogram).gt(0)).toBe(true);
  });
});
