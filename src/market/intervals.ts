/**
 * Candle intervals. Buckets are aligned to UTC (a 5-minute bar starts at :00, :05, ...; an hourly bar at
 * the UTC hour; a daily bar at 00:00 UTC, which is the calendar day at both NSE and the US exchanges since
 * their sessions never cross a UTC midnight).
 */
export type IntervalCode = '1m' | '5m' | '15m' | '1h' | '1d';
export type IntervalName = 'M1' | 'M5' | 'M15' | 'H1' | 'D1';

export const INTERVAL_MS: Record<IntervalCode, number> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};

export const INTERVAL_CODE: Record<IntervalName, IntervalCode> = { M1: '1m', M5: '5m', M15: '15m', H1: '1h', D1: '1d' };

/** The intervals the live feed derives from its one-minute bars. */
export const DERIVED_INTERVALS: readonly IntervalCode[] = ['5m', '15m', '1h', '1d'];

export function isIntervalName(s: string): s is IntervalName {
  return Object.prototype.hasOwnProperty.call(INTERVAL_CODE, s);
}

/** Start (ms) of the bucket of `interval` that `ms` falls in. */
export function bucketStart(ms: number, interval: IntervalCode): number {
  const len = INTERVAL_MS[interval];
  return Math.floor(ms / len) * len;
}
