/**
 * Exact decimal money for the backtest's hot loop: BigInt counts of 1e-8 (the scale of our numeric
 * columns). A fill costs a handful of BigInt operations instead of dozens of arbitrary-precision ones.
 * Products are rounded half away from zero back to 8 places, as Decimal's ROUND_HALF_UP does.
 */
export const S = 100_000_000n;

/** Units from decimal text ("1234.5" → 123450000000n); at most 8 places are expected. */
export function units(text: string): bigint {
  const neg = text.startsWith('-');
  const [i = '0', f = ''] = (neg ? text.slice(1) : text).split('.');
  const v = BigInt(i) * S + BigInt((f + '00000000').slice(0, 8));
  return neg ? -v : v;
}

/** Units of a float price, rounded to 8 places. */
export function unitsOf(x: number): bigint {
  return BigInt(Math.round(x * 1e8));
}

/** a × b / S, rounded half away from zero (both in units). */
export function mulU(a: bigint, b: bigint): bigint {
  const p = a * b;
  const q = p / S;
  const r = p % S;
  const twice = (r < 0n ? -r : r) * 2n;
  return twice >= S ? q + (p < 0n ? -1n : 1n) : q;
}

/** a × S / b rounded down (a quantity that a notional buys). */
export function divDownU(a: bigint, b: bigint): bigint {
  return (a * S) / b;
}

/** Plain decimal text of units, no trailing zeros ("123450000000n" → "1234.5"). */
export function text(u: bigint): string {
  const neg = u < 0n;
  const a = neg ? -u : u;
  const i = a / S;
  const f = (a % S).toString().padStart(8, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${i}${f ? `.${f}` : ''}`;
}
