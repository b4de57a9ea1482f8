/**
 * Performance windows: pure. A preset range or custom dates become the first and last day of the window
 * (UTC calendar days). The series starts at the last valuation before the first day (its base).
 */
import { BadInputError } from '../../errors.js';
import { addDays, dayOf, type Day } from './valuation.js';

export const PERFORMANCE_RANGES = ['D1', 'W1', 'MTD', 'YTD', 'Y1', 'MAX'] as const;
export type PerformanceRangeName = (typeof PERFORMANCE_RANGES)[number];

export interface Window {
  /** first day whose return is in the window; null = from inception */
  from: Day | null;
  to: Day;
  custom: boolean;
}

/**
 * D1: today's return (base = the last close before today); W1: the last 7 days; MTD / YTD: since the
 * first of the month / year; Y1: the last 365 days; MAX: since inception. Custom `from`/`to` override
 * the preset; `to` alone keeps the preset's start only for MAX. No range and no dates = MAX.
 */
export function resolveWindow(args: { range?: PerformanceRangeName | null; from?: Date | null; to?: Date | null }, now: Date): Window {
  const today = dayOf(now);
  for (const [field, v] of [['from', args.from], ['to', args.to]] as const) {
    if (v && Number.isNaN(v.getTime())) throw new BadInputError(`${field} is not a valid date`, field, 'INVALID_DATE');
    if (v && dayOf(v) > today) throw new BadInputError(`${field} is in the future`, field, 'IN_FUTURE');
  }
  if (args.from && args.to && args.from.getTime() > args.to.getTime()) {
    throw new BadInputError('from is after to', 'from', 'RANGE_REVERSED');
  }
  if (args.from || args.to) {
    return { from: args.from ? dayOf(args.from) : null, to: args.to ? dayOf(args.to) : today, custom: true };
  }
  const range = args.range ?? 'MAX';
  switch (range) {
    case 'D1':
      return { from: today, to: today, custom: false };
    case 'W1':
      return { from: addDays(today, -6), to: today, custom: false };
    case 'MTD':
      return { from: `${today.slice(0, 8)}01`, to: today, custom: false };
    case 'YTD':
      return { from: `${today.slice(0, 5)}01-01`, to: today, custom: false };
    case 'Y1':
      return { from: addDays(today, -364), to: today, custom: false };
    case 'MAX':
      return { from: null, to: today, custom: false };
  }
}
