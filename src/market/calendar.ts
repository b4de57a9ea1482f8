/**
 * Exchange calendars: when each exchange's regular session is open, in its own time zone, with weekends
 * and a holiday list. Pure: every question takes the instant it is about (no clock), time zones come from
 * the runtime's IANA database (Intl), so daylight saving in New York is handled and India has none.
 */

/** One exchange's regular session, in local wall-clock time. */
export interface SessionSpec {
  /** IANA zone, e.g. 'Asia/Kolkata'. */
  timeZone: string;
  /** 'HH:MM', local. */
  open: string;
  /** 'HH:MM', local; after `open` (no overnight sessions). */
  close: string;
}

/** Regular sessions of the exchanges the platform lists (pre-open and extended hours are not trading here). */
export const DEFAULT_SESSIONS: Readonly<Record<string, SessionSpec>> = {
  NSE: { timeZone: 'Asia/Kolkata', open: '09:15', close: '15:30' },
  BSE: { timeZone: 'Asia/Kolkata', open: '09:15', close: '15:30' },
  NYSE: { timeZone: 'America/New_York', open: '09:30', close: '16:00' },
  NASDAQ: { timeZone: 'America/New_York', open: '09:30', close: '16:00' },
  NYSEARCA: { timeZone: 'America/New_York', open: '09:30', close: '16:00' },
};

/** Holidays per exchange: local dates 'YYYY-MM-DD' on which it does not open. */
export type HolidayList = Readonly<Record<string, readonly string[]>>;

/** One session: its open and close as instants. */
export interface Session {
  /** Local date, 'YYYY-MM-DD'. */
  date: string;
  open: Date;
  close: Date;
}

const DAY_MS = 86_400_000;
/** How far to look for a session: longer than any run of weekends and holidays. */
const SEARCH_DAYS = 30;

export class ExchangeCalendar {
  private readonly holidays: Map<string, Set<string>>;

  constructor(
    private readonly sessions: Readonly<Record<string, SessionSpec>> = DEFAULT_SESSIONS,
    holidays: HolidayList = {},
  ) {
    for (const [exchange, spec] of Object.entries(sessions)) {
      if (!(hhmm(spec.open) < hhmm(spec.close))) throw new RangeError(`${exchange}: the session must close after it opens`);
      localParts(new Date(0), spec.timeZone); // throws RangeError for an unknown time zone
    }
    this.holidays = new Map(Object.entries(holidays).map(([ex, days]) => [ex, new Set(days)]));
  }

  /** Exchanges with a calendar. An exchange without one is treated as always open and never closes. */
  exchanges(): string[] {
    return Object.keys(this.sessions);
  }

  has(exchange: string): boolean {
    return exchange in this.sessions;
  }

  /** Whether `exchange`'s regular session is open at `at` (open ≤ at < close). Unknown exchanges: always. */
  isOpen(exchange: string, at: Date): boolean {
    const spec = this.sessions[exchange];
    if (!spec) return true;
    const s = this.sessionOn(exchange, localParts(at, spec.timeZone).date);
    return s !== null && s.open.getTime() <= at.getTime() && at.getTime() < s.close.getTime();
  }

  /** The session on a local date, or null on a weekend or holiday (or for an unknown exchange). */
  sessionOn(exchange: string, date: string): Session | null {
    const spec = this.sessions[exchange];
    if (!spec) return null;
    const [y, m, d] = date.split('-').map(Number);
    const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
    if (weekday === 0 || weekday === 6 || this.holidays.get(exchange)?.has(date)) return null;
    return { date, open: zonedInstant(date, spec.open, spec.timeZone), close: zonedInstant(date, spec.close, spec.timeZone) };
  }

  /** The most recent close at or before `at`, or null for an unknown exchange. */
  lastClose(exchange: string, at: Date): Date | null {
    const spec = this.sessions[exchange];
    if (!spec) return null;
    const today = localParts(at, spec.timeZone).date;
    for (let i = 0; i <= SEARCH_DAYS; i++) {
      const s = this.sessionOn(exchange, addDays(today, -i));
      if (s && s.close.getTime() <= at.getTime()) return s.close;
    }
    return null;
  }

  /**
   * The session an order placed at `at` belongs to: the one in progress, else the next one. A DAY order
   * expires at its close. Null for an unknown exchange.
   */
  currentOrNextSession(exchange: string, at: Date): Session | null {
    const spec = this.sessions[exchange];
    if (!spec) return null;
    const today = localParts(at, spec.timeZone).date;
    for (let i = 0; i <= SEARCH_DAYS; i++) {
      const s = this.sessionOn(exchange, addDays(today, i));
      if (s && at.getTime() < s.close.getTime()) return s;
    }
    return null;
  }
}

/** A local date `n` calendar days later (or earlier), by date arithmetic, not by 24-hour steps. */
function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d) + n * DAY_MS).toISOString().slice(0, 10);
}

function hhmm(s: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(s);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new RangeError(`not a HH:MM time: ${s}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The local date and wall-clock minutes of an instant in a zone. */
function localParts(at: Date, timeZone: string): { date: string; y: number; mo: number; d: number; h: number; mi: number; s: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  const [y, mo, d, h, mi, s] = [p.year, p.month, p.day, p.hour, p.minute, p.second].map(Number);
  return { date: `${p.year}-${p.month}-${p.day}`, y, mo, d, h, mi, s };
}

/** The zone's offset from UTC at an instant, in ms (IST: +5h30). */
function offsetMs(at: Date, timeZone: string): number {
  const l = localParts(at, timeZone);
  return Date.UTC(l.y, l.mo - 1, l.d, l.h, l.mi, l.s) - Math.floor(at.getTime() / 1000) * 1000;
}

/** The instant at which the wall clock in `timeZone` reads `date` `time` (sessions never fall in a DST gap). */
export function zonedInstant(date: string, time: string, timeZone: string): Date {
  const [y, m, d] = date.split('-').map(Number);
  const minutes = hhmm(time);
  const wall = Date.UTC(y, m - 1, d, Math.floor(minutes / 60), minutes % 60);
  // Guess with the offset at the wall time read as UTC, then correct once for a DST change in between.
  let t = wall - offsetMs(new Date(wall), timeZone);
  t = wall - offsetMs(new Date(t), timeZone);
  return new Date(t);
}
