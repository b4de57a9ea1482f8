import { describe, expect, it } from 'vitest';
import { istToIso, nextIstTime } from './expiry.js';

describe('daily token expiry in IST', () => {
  it('a Kite token made at 15:00 IST dies at 06:00 IST the next day', () => {
    expect(nextIstTime(new Date('2026-01-05T09:30:00Z'), 6, 0).toISOString()).toBe('2026-01-06T00:30:00.000Z');
  });
  it('a token made at 05:59 IST dies the same morning at 06:00, one made at 06:00 the next day', () => {
    expect(nextIstTime(new Date('2026-01-05T00:29:00Z'), 6, 0).toISOString()).toBe('2026-01-05T00:30:00.000Z');
    expect(nextIstTime(new Date('2026-01-05T00:30:00Z'), 6, 0).toISOString()).toBe('2026-01-06T00:30:00.000Z');
  });
  it('an Upstox token dies at 03:30 IST (22:00 UTC the day before)', () => {
    expect(nextIstTime(new Date('2026-01-05T09:30:00Z'), 3, 30).toISOString()).toBe('2026-01-05T22:00:00.000Z');
  });
  it('reads broker IST timestamps', () => {
    expect(istToIso('2022-03-03 09:24:25')).toBe('2022-03-03T03:54:25.000Z');
    expect(istToIso(null)).toBeNull();
  });
});
