/**
 * The pooled account's allocator (pure): splits a parent fill (or the crossed part of a window) among
 * child orders pro rata to their remaining quantities, in whole lots, and a fee among the child fills in
 * exact decimals to the smallest currency unit.
 *
 * Method (largest remainder, Hamilton): with T units to share and weights w_i (W = Σ w_i), each child
 * first gets floor(T·w_i / W); the L units left (L < number of children) go one each to the children
 * with the largest fractional parts (T·w_i mod W, compared exactly as integers), ties broken by time
 * priority (earlier `seq` first, then id). So: Σ allocations = T, every allocation is within one unit
 * of its exact share T·w_i/W (strictly less than one away), never above its weight when T ≤ W, and the
 * result depends only on the inputs (not on their order).
 */
import { dec, Decimal, type DecimalLike } from '../../lib/decimal.js';

/** One child's claim: its remaining quantity (the weight) and its time priority. */
export interface AllocationClaim {
  id: string;
  /** Remaining quantity (a multiple of the lot size). */
  remaining: DecimalLike;
  /** Time priority: smaller is earlier (e.g. the order's creation time in ms, then a sequence). */
  seq: number;
}

export class AllocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AllocationError';
  }
}

/** Largest-remainder split of `units` (a non-negative integer) by integer `weights`. */
export function largestRemainder(units: Decimal, claims: { id: string; weight: Decimal; seq: number }[]): Map<string, Decimal> {
  const out = new Map<string, Decimal>();
  const W = claims.reduce((s, c) => s.add(c.weight), dec(0));
  if (units.isZero() || claims.length === 0) {
    for (const c of claims) out.set(c.id, dec(0));
    return out;
  }
  if (W.isZero()) throw new AllocationError('nothing to allocate to');
  const parts = claims.map((c) => {
    const num = units.mul(c.weight);
    const floor = num.divToInt(W);
    return { c, floor, rem: num.sub(floor.mul(W)) };
  });
  let left = units.sub(parts.reduce((s, p) => s.add(p.floor), dec(0)));
  const ranked = [...parts].sort((a, b) => b.rem.cmp(a.rem) || a.c.seq - b.c.seq || (a.c.id < b.c.id ? -1 : a.c.id > b.c.id ? 1 : 0));
  for (const p of ranked) {
    const extra = left.gt(0) && p.rem.gt(0) ? dec(1) : dec(0);
    left = left.sub(extra);
    out.set(p.c.id, p.floor.add(extra));
  }
  if (!left.isZero()) throw new AllocationError('remainder left over'); // impossible: Σ rem / W = left
  return out;
}

/**
 * Split `quantity` (a whole number of lots) among `claims` pro rata to their remaining quantities, in
 * whole lots. Throws if the quantity is not whole lots or exceeds the claims' total.
 */
export function allocateQuantity(quantity: DecimalLike, lotSize: DecimalLike, claims: AllocationClaim[]): Map<string, Decimal> {
  const q = dec(quantity);
  const lot = dec(lotSize);
  if (!lot.gt(0)) throw new AllocationError('lot size must be positive');
  if (q.lt(0) || !q.mod(lot).isZero()) throw new AllocationError(`quantity ${q} is not a whole number of lots of ${lot}`);
  const weights = claims.map((c) => {
    const r = dec(c.remaining);
    if (r.lt(0) || !r.mod(lot).isZero()) throw new AllocationError(`remaining ${r} of ${c.id} is not a whole number of lots`);
    return { id: c.id, weight: r.div(lot), seq: c.seq };
  });
  const total = weights.reduce((s, w) => s.add(w.weight), dec(0));
  const units = q.div(lot);
  if (units.gt(total)) throw new AllocationError(`quantity ${q} exceeds the children's remaining ${total.mul(lot)}`);
  const lots = largestRemainder(units, weights);
  return new Map([...lots].map(([id, n]) => [id, n.mul(lot)]));
}

/** The smallest unit that expresses `amount` and `minorUnit` exactly (e.g. 0.01, or 0.001 for a fee of 0.125). */
export function unitFor(amount: Decimal, minorUnit: DecimalLike): Decimal {
  const places = Math.max(amount.decimalPlaces(), dec(minorUnit).decimalPlaces());
  return dec(1).div(dec(10).pow(places));
}

/**
 * Split a fee among child fills pro rata to their quantities, in exact decimals: to the currency's
 * smallest unit (`minorUnit`, e.g. 0.01), or finer when the fee itself is finer. Σ = fee exactly.
 */
export function allocateFee(fee: DecimalLike, minorUnit: DecimalLike, shares: { id: string; quantity: DecimalLike; seq: number }[]): Map<string, Decimal> {
  const f = dec(fee);
  if (f.lt(0)) throw new AllocationError('negative fee');
  const unit = unitFor(f, minorUnit);
  // Quantities may be fractional: scale them to integers by their own finest decimal place.
  const qPlaces = Math.max(0, ...shares.map((s) => dec(s.quantity).decimalPlaces()));
  const scale = dec(10).pow(qPlaces);
  const units = largestRemainder(
    f.div(unit),
    shares.map((s) => ({ id: s.id, weight: dec(s.quantity).mul(scale), seq: s.seq })),
  );
  return new Map([...units].map(([id, n]) => [id, n.mul(unit)]));
}

/**
 * The cash of one execution (a parent fill or the window's cross) shared by the child fills it was split
 * into, all at the execution's one price, so that every child's cash moves by whole smallest units and
 * the children together move by exactly the execution's value: T = Σ quantity × price rounded half-up to
 * `minorUnit`. Each child first gets its exact value q × price rounded down to the unit; the units left
 * (T minus those, fewer than the number of children) go one each to the largest fractional parts (the
 * largest remainder method on the exact values, which are pro rata to the quantities), ties broken by
 * time priority (earlier `seq`, then id). So Σ = T and every amount is strictly within one unit of
 * q × price. Both sides of a cross have the same quantity at the same price, so the buyers pay in total
 * exactly what the sellers receive. When every q × price is already whole units, each child gets exactly
 * that.
 */
export function allocateNotional(price: DecimalLike, minorUnit: DecimalLike, shares: { id: string; quantity: DecimalLike; seq: number }[]): { total: Decimal; amounts: Map<string, Decimal> } {
  const unit = dec(minorUnit);
  const p = dec(price);
  const parts = shares.map((s) => {
    const units = dec(s.quantity).mul(p).div(unit);
    const floor = units.floor();
    return { s, floor, rem: units.sub(floor) };
  });
  const exact = parts.reduce((acc, x) => acc.add(x.floor).add(x.rem), dec(0));
  const total = exact.toDecimalPlaces(0, Decimal.ROUND_HALF_UP);
  let left = total.sub(parts.reduce((acc, x) => acc.add(x.floor), dec(0)));
  // Whole units already (a tick price, whole quantities): nothing to rank.
  const ranked = left.isZero() ? parts : [...parts].sort((a, b) => b.rem.cmp(a.rem) || a.s.seq - b.s.seq || (a.s.id < b.s.id ? -1 : a.s.id > b.s.id ? 1 : 0));
  const amounts = new Map<string, Decimal>();
  for (const x of ranked) {
    const extra = left.gt(0) && x.rem.gt(0) ? dec(1) : dec(0);
    left = left.sub(extra);
    amounts.set(x.s.id, x.floor.add(extra).mul(unit));
  }
  if (!left.isZero()) throw new AllocationError('notional remainder left over'); // impossible: left = round(Σ rem) ≤ #(rem > 0)
  return { total: total.mul(unit), amounts };
}
