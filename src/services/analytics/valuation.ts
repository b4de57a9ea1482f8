/**
 * Daily valuations from history: pure. Given the cash movements and position changes of a portfolio and
 * the daily closes of what it held, produce one valuation per day (cash, positions at the day's close,
 * net external flow). A day is a UTC calendar day ('YYYY-MM-DD'); an event belongs to the day of its
 * timestamp (an activity dated at 00:00 UTC to that day).
 *
 * Prices: the day's close; without one, the last earlier close is carried (counted in `carriedPrices`);
 * with no close ever, the last trade price seen in the history (counted in `missingPrices`), else 0.
 */
import { Decimal, ZERO, dec, type DecimalLike } from '../../lib/decimal.js';

export type Day = string;
const DAY_MS = 86_400_000;

export function dayOf(t: Date): Day {
  return t.toISOString().slice(0, 10);
}
export function dayStart(day: Day): Date {
  // Date.UTC over the parts: several times faster than parsing an ISO string (hot in performance).
  return new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))));
}
export function addDays(day: Day, n: number): Day {
  return dayOf(new Date(dayStart(day).getTime() + n * DAY_MS));
}

/** Weekdays (Mon–Fri) from `from` to `to` inclusive, plus the extra days inside that span; sorted, unique. */
export function valuationDays(from: Day, to: Day, extra: Iterable<Day> = []): Day[] {
  const set = new Set<Day>();
  for (let t = dayStart(from).getTime(), end = dayStart(to).getTime(); t <= end; t += DAY_MS) {
    const wd = new Date(t).getUTCDay();
    if (wd !== 0 && wd !== 6) set.add(dayOf(new Date(t)));
  }
  for (const d of extra) if (d >= from && d <= to) set.add(d);
  return [...set].sort();
}

/** A cash movement (a ledger line). `external` for deposits and withdrawals. */
export interface CashEvent {
  day: Day;
  amount: DecimalLike;
  external: boolean;
}
/** A position change: signed quantity (buys positive) at a trade price. */
export interface TradeEvent {
  day: Day;
  instrumentId: string;
  quantity: DecimalLike;
  price: DecimalLike;
}
export interface DailyClose {
  instrumentId: string;
  day: Day;
  close: DecimalLike;
}

export interface ValuationRow {
  day: Day;
  cash: Decimal;
  positionsValue: Decimal;
  value: Decimal;
  netFlow: Decimal;
  carriedPrices: number;
  missingPrices: number;
}

/**
 * Walk the days in order applying every event dated on or before each day. Events before the first day
 * are the opening state. `closes` may start before the first day (for carrying).
 */
export function buildValuations(input: {
  days: readonly Day[];
  cash: readonly CashEvent[];
  trades: readonly TradeEvent[];
  closes: readonly DailyClose[];
}): ValuationRow[] {
  const cashEv = [...input.cash].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const tradeEv = [...input.trades].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const closes = [...input.closes].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const held = new Map<string, Decimal>();
  const lastClose = new Map<string, { day: Day; close: Decimal }>();
  const lastTrade = new Map<string, Decimal>();
  let cash: Decimal = ZERO;
  let ci = 0;
  let ti = 0;
  let pi = 0;
  const out: ValuationRow[] = [];
  let first = true;
  for (const day of input.days) {
    let flow: Decimal = ZERO;
    while (ci < cashEv.length && cashEv[ci]!.day <= day) {
      const e = cashEv[ci++]!;
      const a = dec(e.amount);
      cash = cash.add(a);
      // flows before the first day are part of the opening value, not of the first day's flow
      if (e.external && (!first || e.day === day)) flow = flow.add(a);
    }
    while (ti < tradeEv.length && tradeEv[ti]!.day <= day) {
      const e = tradeEv[ti++]!;
      held.set(e.instrumentId, (held.get(e.instrumentId) ?? ZERO).add(dec(e.quantity)));
      lastTrade.set(e.instrumentId, dec(e.price));
    }
    while (pi < closes.length && closes[pi]!.day <= day) {
      const c = closes[pi++]!;
      lastClose.set(c.instrumentId, { day: c.day, close: dec(c.close) });
    }
    let positionsValue: Decimal = ZERO;
    let carried = 0;
    let missing = 0;
    for (const [instrumentId, q] of held) {
      if (q.isZero()) continue;
      const c = lastClose.get(instrumentId);
      let px: Decimal;
      if (c) {
        px = c.close;
        if (c.day !== day) carried++;
      } else {
        px = lastTrade.get(instrumentId) ?? ZERO;
        missing++;
      }
      positionsValue = positionsValue.add(q.mul(px));
    }
    out.push({ day, cash, positionsValue, value: cash.add(positionsValue), netFlow: flow, carriedPrices: carried, missingPrices: missing });
    first = false;
  }
  return out;
}
