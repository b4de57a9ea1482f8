/** One bar parsed from CSV: decimals as given (validated), time as a Date. */
export interface CsvBar {
  line: number;
  time: Date;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export interface CsvError {
  line: number;
  message: string;
}

const HEADER = ['time', 'open', 'high', 'low', 'close', 'volume'];
const DECIMAL = /^\d{1,15}(\.\d{1,8})?$/;
/** Most lines one import accepts (a decade of one-minute bars is far more than any chart needs). */
export const MAX_CSV_LINES = 200_000;

/**
 * Parse `time,open,high,low,close,volume` (header on line 1; time ISO-8601 or unix seconds). Each bad line
 * becomes an error with its file line number and never blocks the good ones. A bar is bad when a field is
 * missing or not a non-negative decimal, prices are zero, or low > min(open, close) or high < max(open, close).
 */
export function parseCandleCsv(csv: string): { bars: CsvBar[]; errors: CsvError[] } {
  const lines = csv.split(/\r?\n/);
  const bars: CsvBar[] = [];
  const errors: CsvError[] = [];
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  if (header.join(',') !== HEADER.join(',')) {
    return { bars, errors: [{ line: 1, message: `Header must be ${HEADER.join(',')}` }] };
  }
  if (lines.length > MAX_CSV_LINES + 1) return { bars, errors: [{ line: MAX_CSV_LINES + 2, message: `At most ${MAX_CSV_LINES} bars per import` }] };
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const line = i + 1;
    const f = raw.split(',').map((x) => x.trim());
    if (f.length !== 6) {
      errors.push({ line, message: `Expected 6 fields, got ${f.length}` });
      continue;
    }
    const [t, open, high, low, close, volume] = f as [string, string, string, string, string, string];
    const time = /^\d+(\.\d+)?$/.test(t) ? new Date(Number(t) * 1000) : /^\d{4}-\d{2}-\d{2}/.test(t) ? new Date(t) : new Date(NaN);
    if (Number.isNaN(time.getTime())) {
      errors.push({ line, message: `Invalid time '${t}' (ISO-8601 or unix seconds)` });
      continue;
    }
    const bad = [
      ['open', open],
      ['high', high],
      ['low', low],
      ['close', close],
      ['volume', volume],
    ].find(([, v]) => !DECIMAL.test(v!));
    if (bad) {
      errors.push({ line, message: `Invalid ${bad[0]} '${bad[1]}' (a non-negative decimal, at most 15 digits before the point and 8 after)` });
      continue;
    }
    const [o, h, l, c] = [open, high, low, close].map(Number) as [number, number, number, number];
    if (o <= 0 || h <= 0 || l <= 0 || c <= 0) {
      errors.push({ line, message: 'Prices must be above 0' });
      continue;
    }
    if (l > Math.min(o, c) || h < Math.max(o, c) || l > h) {
      errors.push({ line, message: 'high must be ≥ open, close and low; low must be ≤ open and close' });
      continue;
    }
    bars.push({ line, time, open, high, low, close, volume });
  }
  return { bars, errors };
}
