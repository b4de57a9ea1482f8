import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './config-error.js';

const HolidayFile = z.record(z.string(), z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'dates are YYYY-MM-DD')));

/** MARKET_HOLIDAYS_FILE: exchange → local dates on which it does not open. */
export function loadHolidays(file: string): Record<string, string[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`MARKET_HOLIDAYS_FILE: cannot read ${file} as JSON (${(err as Error).message})`);
  }
  const parsed = HolidayFile.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`MARKET_HOLIDAYS_FILE: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
