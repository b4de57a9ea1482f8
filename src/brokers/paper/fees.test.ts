import { describe, expect, it } from 'vitest';
import { DEFAULT_FEES, computeFee, feeBound, feeText, type FeeSchedule } from './fees.js';

describe('paper fees', () => {
  it('charges 3 bps on a small INR fill', () => {
    // 10 × 1234.50 = 12345 notional → 3.7035 → 3.70
    expect(feeText(DEFAULT_FEES, 'INR', '12345')).toBe('3.70');
  });

  it('caps an INR fill at ₹20 however large', () => {
    expect(feeText(DEFAULT_FEES, 'INR', '10000000')).toBe('20.00');
  });

  it('is commission-free for USD', () => {
    expect(computeFee(DEFAULT_FEES, 'USD', '98765.43').isZero()).toBe(true);
  });

  it('charges nothing for a currency without a rule', () => {
    expect(feeText(DEFAULT_FEES, 'EUR', '5000')).toBe('0.00');
  });

  it('applies the minimum to a tiny fill', () => {
    const schedule: FeeSchedule = { USD: { bps: '1', min: '1.00' } };
    expect(feeText(schedule, 'USD', '100')).toBe('1.00');
  });

  it('rounds each fill down to 2 dp without floats, so partial fills never cost more than the bound', () => {
    const schedule: FeeSchedule = { INR: { bps: '5', min: '0' } };
    // 10 × 5 bps = 0.005 → 0.00; 30 × 5 bps = 0.015 → 0.01
    expect(feeText(schedule, 'INR', '10')).toBe('0.00');
    expect(feeText(schedule, 'INR', '30')).toBe('0.01');
    // An order of 30 filled as 10 + 10 + 10 pays 0.00 ×3, within its bound of 0.02 (0.015 rounded up).
    expect(feeBound(schedule, 'INR', '30').toFixed(2)).toBe('0.02');
    expect(feeBound(DEFAULT_FEES, 'INR', '15456').toFixed(2)).toBe('4.64');
    expect(feeBound(DEFAULT_FEES, 'USD', '15456').toFixed(2)).toBe('0.00');
  });

  it('treats a sell notional the same as a buy', () => {
    expect(feeText(DEFAULT_FEES, 'INR', '-12345')).toBe('3.70');
  });
});
