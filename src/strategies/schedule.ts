import { CronExpressionParser } from 'cron-parser';
import { BadInputError } from '../errors.js';
import type { IntervalCode } from '../market/intervals.js';

/** `@barClose`: run when a bar of the strategy's interval closes (5 s after, once the feed has written it). */
export const BAR_CLOSE = '@barClose';

const BAR_CLOSE_CRON: Record<IntervalCode, string> = {
  '1m': '5 * * * * *',
  '5m': '5 */5 * * * *',
  '15m': '5 */15 * * * *',
  '1h': '5 0 * * * *',
  '1d': '5 0 0 * * *',
};

export interface ScheduleSpec {
  /** A 5-field (or 6-field, with seconds) cron expression. */
  cron: string;
  /** IANA time zone the cron is read in. */
  timezone: string;
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Validate a schedule and resolve it to a cron spec. A cron may have 5 fields (minute precision) or 6 (seconds
 * first, which must then be one value); anything that could fire more than once a minute is refused
 * (reason TOO_FREQUENT), as are invalid expressions (INVALID_CRON) and unknown time zones (INVALID_TIMEZONE).
 */
export function resolveSchedule(schedule: string, timezone: string | null | undefined, interval: IntervalCode, field = 'schedule'): ScheduleSpec {
  const tz = timezone ?? 'UTC';
  if (!validTimezone(tz)) throw new BadInputError(`Unknown time zone ${tz}`, 'timezone', 'INVALID_TIMEZONE');
  const cron = schedule.trim() === BAR_CLOSE ? BAR_CLOSE_CRON[interval] : schedule.trim();
  const fields = cron.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) throw new BadInputError('A cron expression has 5 fields (or 6 with seconds first), or is @barClose', field, 'INVALID_CRON');
  let expr;
  try {
    expr = CronExpressionParser.parse(cron, { tz, strict: false });
  } catch (e) {
    throw new BadInputError(`Invalid cron expression: ${(e as Error).message}`, field, 'INVALID_CRON');
  }
  if (fields.length === 6 && expr.fields.second.values.length > 1) {
    throw new BadInputError('The schedule fires more often than once a minute', field, 'TOO_FREQUENT');
  }
  return { cron, timezone: tz };
}

/** The first firing strictly after `after`. */
export function nextFire(spec: ScheduleSpec, after: Date): Date {
  return CronExpressionParser.parse(spec.cron, { tz: spec.timezone, currentDate: after }).next().toDate();
}

/** The key that makes a tick run once: its minute (two ticks of one schedule are at least a minute apart). */
export function tickKey(at: Date): string {
  return new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();
}
