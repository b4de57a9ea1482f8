import { describe, expect, it } from 'vitest';
import { nseTickSize, usTickSize } from './tick-size.js';

describe('nseTickSize', () => {
  it.each([
    ['171.23', '0.01'],
    ['249.99', '0.01'],
    ['404.85', '0.05'],
    ['1000', '0.05'],
    ['1545.6', '0.10'],
    ['5000', '0.10'],
    ['5000.5', '0.50'],
    ['11842', '1.00'],
    ['20000', '1.00'],
    ['138500', '5.00'],
  ])('a share at ₹%s moves in steps of %s', (price, tick) => {
    expect(nseTickSize(price)).toBe(tick);
  });

  it('gives ETFs one-paisa steps at any price', () => {
    expect(nseTickSize('291.46', 'ETF')).toBe('0.01');
    expect(nseTickSize('1250', 'ETF')).toBe('0.01');
  });
});

describe('usTickSize', () => {
  it('is a cent from $1 and a hundredth of a cent below', () => {
    expect(usTickSize('271.49')).toBe('0.01');
    expect(usTickSize('1')).toBe('0.01');
    expect(usTickSize('0.9999')).toBe('0.0001');
  });
});
