/**
 * XIRR with Excel's semantics: the rate r solving Σ aᵢ / (1 + r)^((dᵢ − d₀)/365) = 0, where dᵢ are whole
 * calendar days (UTC) and d₀ is the first flow's day. Amounts are signed from the investor's side
 * (money put in is negative, money taken out and the final value are positive).
 *
 * Newton's method from the guess (0.1, as Excel) first; when it fails (diverges, leaves r > −1, or
 * stalls) the rate is bracketed by a scan over (−1, ∞) and found by bisection, so the cases Excel and
 * many libraries give up on are solved. No solution is a typed result, never a throw. Pure.
 */

/** One dated flow; `amount` is a number or exact decimal text (converted to a float: a rate is dimensionless). */
export interface CashFlow {
  time: Date;
  amount: number | string | { toString(): string };
}

export type XirrFailure =
  /** fewer than two flows, or no positive and negative flow (Excel's #NUM!) */
  | 'NEEDS_POSITIVE_AND_NEGATIVE'
  /** every flow on one day: no time for a rate */
  | 'NO_TIME_SPAN'
  /** no rate in (−1, ∞) makes the net present value zero */
  | 'NO_SOLUTION';

export type XirrResult =
  | { ok: true; rate: number; method: 'newton' | 'bracket'; iterations: number }
  | { ok: false; reason: XirrFailure };

const DAY_MS = 86_400_000;
const MAX_NEWTON = 100;
const TOLERANCE = 1e-12;

function dayNumber(t: Date): number {
  return Math.floor(t.getTime() / DAY_MS);
}

interface Prepared {
  amounts: number[];
  years: number[];
}

function prepare(flows: readonly CashFlow[]): Prepared | XirrFailure {
  if (flows.length < 2) return 'NEEDS_POSITIVE_AND_NEGATIVE';
  const d0 = dayNumber(flows[0]!.time);
  const amounts: number[] = [];
  const years: number[] = [];
  let pos = false;
  let neg = false;
  let span = false;
  for (const f of flows) {
    const a = typeof f.amount === 'number' ? f.amount : Number(f.amount.toString());
    if (!Number.isFinite(a)) return 'NEEDS_POSITIVE_AND_NEGATIVE';
    if (a > 0) pos = true;
    if (a < 0) neg = true;
    const y = (dayNumber(f.time) - d0) / 365;
    if (y !== 0 && a !== 0) span = true;
    amounts.push(a);
    years.push(y);
  }
  if (!pos || !neg) return 'NEEDS_POSITIVE_AND_NEGATIVE';
  if (!span) return 'NO_TIME_SPAN';
  return { amounts, years };
}

/** Net present value at rate r of the flows, Excel's XNPV (day counts from the first flow, actual/365). */
export function xnpv(rate: number, flows: readonly CashFlow[]): number {
  const p = prepare(flows);
  if (typeof p === 'string') return Number.NaN;
  return npv(rate, p);
}

function npv(rate: number, p: Prepared): number {
  const l = Math.log1p(rate);
  let s = 0;
  for (let i = 0; i < p.amounts.length; i++) s += p.amounts[i]! * Math.exp(-p.years[i]! * l);
  return s;
}

function dnpv(rate: number, p: Prepared): number {
  const l = Math.log1p(rate);
  let s = 0;
  for (let i = 0; i < p.amounts.length; i++) {
    const y = p.years[i]!;
    if (y !== 0) s -= y * p.amounts[i]! * Math.exp(-(y + 1) * l);
  }
  return s;
}

function newton(p: Prepared, guess: number): { rate: number; iterations: number } | null {
  let r = guess;
  for (let i = 1; i <= MAX_NEWTON; i++) {
    const f = npv(r, p);
    const d = dnpv(r, p);
    if (!Number.isFinite(f) || !Number.isFinite(d) || d === 0) return null;
    const next = r - f / d;
    if (!Number.isFinite(next) || next <= -1) return null;
    if (Math.abs(next - r) <= TOLERANCE * Math.max(1, Math.abs(next))) {
      const check = npv(next, p);
      const scale = p.amounts.reduce((m, a) => Math.max(m, Math.abs(a)), 0);
      return Number.isFinite(check) && Math.abs(check) <= 1e-7 * scale ? { rate: next, iterations: i } : null;
    }
    r = next;
  }
  return null;
}

/** Rates scanned for a sign change, from just above −1 to very large; dense near the usual range. */
const SCAN: number[] = (() => {
  const out: number[] = [];
  for (const e of [-12, -10, -8, -6, -5, -4, -3]) out.push(-1 + 10 ** e);
  for (let r = -0.99; r < 1; r += 0.01) out.push(Math.round(r * 100) / 100);
  for (let r = 1; r <= 10; r += 0.25) out.push(r);
  for (const r of [15, 20, 50, 100, 1e3, 1e4, 1e5, 1e6, 1e8]) out.push(r);
  for (let e = 10; e <= 300; e += 5) out.push(10 ** e);
  return out;
})();

function bisect(p: Prepared, lo: number, hi: number, flo: number): { rate: number; iterations: number } {
  let a = lo;
  let b = hi;
  let fa = flo;
  let i = 0;
  for (; i < 300; i++) {
    const m = a + (b - a) / 2;
    if (m === a || m === b) break;
    const fm = npv(m, p);
    if (fm === 0) return { rate: m, iterations: i + 1 };
    if (Math.sign(fm) === Math.sign(fa)) {
      a = m;
      fa = fm;
    } else {
      b = m;
    }
    if (b - a <= TOLERANCE * Math.max(1, Math.abs(a))) break;
  }
  return { rate: a + (b - a) / 2, iterations: i + 1 };
}

/**
 * XIRR of the flows. Order does not matter for the answer; day counts start at the first flow's day as
 * Excel's do. When several rates solve the equation, Newton's from the guess wins, else the bracketed
 * root closest to the guess.
 */
export function xirr(flows: readonly CashFlow[], guess = 0.1): XirrResult {
  const p = prepare(flows);
  if (typeof p === 'string') return { ok: false, reason: p };
  const n = newton(p, guess);
  if (n) return { ok: true, rate: n.rate, method: 'newton', iterations: n.iterations };

  let best: { rate: number; iterations: number } | null = null;
  let prevR = Number.NaN;
  let prevF = Number.NaN;
  for (const r of SCAN) {
    // The scan rises: every root still to be found lies at or above the lower end of its bracket. Once
    // that is as far from the guess as the best root so far, none can be closer (ties keep the first).
    if (best && (Number.isNaN(prevR) ? r : prevR) - guess >= Math.abs(best.rate - guess)) break;
    const f = npv(r, p);
    if (!Number.isFinite(f)) {
      prevR = Number.NaN;
      continue;
    }
    if (f === 0) {
      if (!best || Math.abs(r - guess) < Math.abs(best.rate - guess)) best = { rate: r, iterations: 0 };
    } else if (Number.isFinite(prevF) && !Number.isNaN(prevR) && Math.sign(f) !== Math.sign(prevF) && prevF !== 0) {
      const root = bisect(p, prevR, r, prevF);
      // polish with Newton from the bisected point when it stays inside the bracket
      const polished = newton(p, root.rate);
      const rate = polished && polished.rate > prevR && polished.rate < r ? polished.rate : root.rate;
      if (!best || Math.abs(rate - guess) < Math.abs(best.rate - guess)) best = { rate, iterations: root.iterations };
    }
    prevR = r;
    prevF = f;
  }
  if (best) return { ok: true, rate: best.rate, method: 'bracket', iterations: best.iterations };
  return { ok: false, reason: 'NO_SOLUTION' };
}
