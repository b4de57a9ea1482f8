/**
 * Fast reads of decimal values (`DecimalLike`) for the performance metrics: pure. Plain decimal text is
 * scanned by hand, without Decimal or regular expressions, because these run for every point of a
 * 10-year series.
 */
import { dec, fmt, type DecimalLike } from '../../lib/decimal.js';

/** Exact decimal text without trailing zeros (fast path for plain strings; Decimal otherwise). */
export function text(v: DecimalLike): string {
  if (typeof v === 'string') {
    const plain = plainText(v);
    if (plain !== null) return plain;
  }
  return fmt(v);
}

/**
 * `[-]digits[.digits]` without trailing fractional zeros or leading integer zeros, by one scan of the
 * characters (called for every point of a 10-year series: no regular expressions); null when `v` is not
 * plain decimal text.
 */
function plainText(v: string): string | null {
  const n = v.length;
  let i = v.charCodeAt(0) === 45 ? 1 : 0; // '-'
  const start = i;
  let dot = -1;
  for (let k = i; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c === 46) {
      if (dot >= 0) return null;
      dot = k;
    } else if (c < 48 || c > 57) return null;
  }
  if (n === start || dot === start || dot === n - 1) return null;
  let end = n;
  if (dot >= 0) {
    while (v.charCodeAt(end - 1) === 48) end--;
    if (end - 1 === dot) end = dot;
  }
  while (i < (dot >= 0 ? dot : end) - 1 && v.charCodeAt(i) === 48) i++;
  const body = v.slice(i, end);
  if (body === '0') return '0';
  return start === 1 ? `-${body}` : i === 0 && end === n ? v : body;
}

export function isZero(v: DecimalLike | undefined): boolean {
  if (v === undefined || v === 0) return true;
  if (typeof v === 'string') {
    // `-?0*(\.0*)?`, not '' or '-', by one scan (a numeric column's zero comes as "0.0000").
    const from = v.charCodeAt(0) === 45 ? 1 : 0;
    if (v.length === from) return false;
    let dots = 0;
    for (let k = from; k < v.length; k++) {
      const c = v.charCodeAt(k);
      if (c === 46) {
        if (++dots > 1) return false;
      } else if (c !== 48) return false;
    }
    return true;
  }
  return dec(v).isZero();
}

export function num(v: DecimalLike): number {
  return typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number(v.toString());
}
