import { describe, expect, it } from 'vitest';
import { ExchangeCalendar, zonedInstant } from './calendar.js';

// 2026-01-05 is a Monday; 2026-01-26 (Republic Day) is used as an NSE holiday; US DST starts 2026-03-08.
const cal = new ExchangeCalendar(undefined, { NSE: ['2026-01-26'], NYSE: ['2026-01-19'] });
const at = (iso: string) => new Date(iso);

describe('exchange calendar', () => {
  it('NSE opens at 09:15 IST (03:45 UTC) and closes at 15:30 IST (10:00 UTC), open inclusive, close exclusive', () => {
    expect(cal.isOpen('NSE', at('2026-01-05T03:44:59.999Z'))).toBe(false);
    expect(cal.isOpen('NSE', at('2026-01-05T03:45:00.000Z'))).toBe(true);
    expect(cal.isOpen('NSE', at('2026-01-05T09:59:59.999Z'))).toBe(true);
    expect(cal.isOpen('NSE', at('2026-01-05T10:00:00.000Z'))).toBe(false);
  });

  it('NYSE opens 09:30–16:00 New York time: 14:30–21:00 UTC in winter, 13:30–20:00 UTC after DST starts', () => {
    expect(cal.sessionOn('NYSE', '2026-01-05')).toEqual({ date: '2026-01-05', open: at('2026-01-05T14:30:00Z'), close: at('2026-01-05T21:00:00Z') });
    expect(cal.sessionOn('NYSE', '2026-03-09')).toEqual({ date: '2026-03-09', open: at('2026-03-09T13:30:00Z'), close: at('2026-03-09T20:00:00Z') });
    expect(cal.isOpen('NASDAQ', at('2026-03-09T13:29:59Z'))).toBe(false);
    expect(cal.isOpen('NASDAQ', at('2026-03-09T13:30:00Z'))).toBe(true);
  });

  it('is closed on weekends and on listed holidays', () => {
    expect(cal.sessionOn('NSE', '2026-01-03')).toBeNull(); // Saturday
    expect(cal.sessionOn('NSE', '2026-01-04')).toBeNull(); // Sunday
    expect(cal.sessionOn('NSE', '2026-01-26')).toBeNull(); // holiday
    expect(cal.isOpen('NSE', at('2026-01-26T06:00:00Z'))).toBe(false);
    expect(cal.isOpen('NYSE', at('2026-01-19T16:00:00Z'))).toBe(false); // NYSE holiday
    expect(cal.isOpen('NASDAQ', at('2026-01-19T16:00:00Z'))).toBe(true); // holidays are per exchange
  });

  it('the last close before a Monday morning is the Friday close', () => {
    expect(cal.lastClose('NSE', at('2026-01-05T04:00:00Z'))).toEqual(at('2026-01-02T10:00:00Z'));
    expect(cal.lastClose('NSE', at('2026-01-05T10:00:00Z'))).toEqual(at('2026-01-05T10:00:00Z'));
  });

  it('an order placed after the close, at the weekend or on a holiday belongs to the next session', () => {
    expect(cal.currentOrNextSession('NSE', at('2026-01-05T05:00:00Z'))?.date).toBe('2026-01-05'); // in session
    expect(cal.currentOrNextSession('NSE', at('2026-01-05T10:00:00Z'))?.date).toBe('2026-01-06'); // at the close
    expect(cal.currentOrNextSession('NSE', at('2026-01-03T12:00:00Z'))?.date).toBe('2026-01-05'); // Saturday
    expect(cal.currentOrNextSession('NSE', at('2026-01-23T11:00:00Z'))?.date).toBe('2026-01-27'); // Fri after close, Mon holiday
  });

  it('an exchange without a calendar is always open and has no close', () => {
    expect(cal.isOpen('LSE', at('2026-01-03T12:00:00Z'))).toBe(true);
    expect(cal.lastClose('LSE', at('2026-01-05T12:00:00Z'))).toBeNull();
    expect(cal.has('LSE')).toBe(false);
  });

  it('refuses a session that closes before it opens, or an unknown time zone', () => {
    expect(() => new ExchangeCalendar({ X: { timeZone: 'Asia/Kolkata', open: '15:30', close: '09:15' } })).toThrow(RangeError);
    expect(() => new ExchangeCalendar({ X: { timeZone: 'Mars/Olympus', open: '09:00', close: '10:00' } })).toThrow(RangeError);
  });

  it('converts a wall-clock time in a zone to the instant, across the DST change', () => {
    expect(zonedInstant('2026-03-06', '16:00', 'America/New_York')).toEqual(at('2026-03-06T21:00:00Z'));
    expect(zonedInstant('2026-03-09', '16:00', 'America/New_York')).toEqual(at('2026-03-09T20:00:00Z'));
    expect(zonedInstant('2026-07-01', '15:30', 'Asia/Kolkata')).toEqual(at('2026-07-01T10:00:00Z'));
  });
});
