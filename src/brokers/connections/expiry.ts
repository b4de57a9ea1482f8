/** IST is UTC+05:30 all year (no daylight saving). */
const IST_OFFSET_MS = (5 * 60 + 30) * 60_000;

/**
 * The next time it is `hh:mm` in India after `now`: when a daily broker token dies (Kite 06:00,
 * Upstox 03:30, Groww 06:00).
 */
export function nextIstTime(now: Date, hh: number, mm: number): Date {
  const ist = new Date(now.getTime() + IST_OFFSET_MS);
  const at = Date.UTC(ist.getUTCFullYear(), ist.getUTCMonth(), ist.getUTCDate(), hh, mm) - IST_OFFSET_MS;
  return new Date(at > now.getTime() ? at : at + 86_400_000);
}

/** A broker's local IST timestamp ("2022-03-03 09:24:25") as ISO UTC; null if it is not one. */
export function istToIso(v: unknown): string | null {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$/.test(v)) return null;
  return new Date(`${v.replace(' ', 'T')}+05:30`).toISOString();
}
