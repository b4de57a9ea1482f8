import { dec, type DecimalLike } from '../lib/decimal.js';

/**
 * NSE capital-market tick size by price band, as NSE applies it since April 2025 (reviewed monthly against the
 * last closing price of the month): below ₹250 → 0.01 (since June 2024), ₹250–1,000 → 0.05,
 * ₹1,000–5,000 → 0.10, ₹5,000–10,000 → 0.50, ₹10,000–20,000 → 1.00, above ₹20,000 → 5.00.
 * ETFs trade in 0.01 steps at every price. Returns decimal text.
 */
export function nseTickSize(price: DecimalLike, assetClass: 'EQUITY' | 'ETF' = 'EQUITY'): string {
  if (assetClass === 'ETF') return '0.01';
  const p = dec(price);
  if (p.lt(250)) return '0.01';
  if (p.lte(1000)) return '0.05';
  if (p.lte(5000)) return '0.10';
  if (p.lte(10000)) return '0.50';
  if (p.lte(20000)) return '1.00';
  return '5.00';
}

/** US equities and ETFs quote in whole cents at or above $1 (Reg NMS Rule 612), 0.0001 below. */
export function usTickSize(price: DecimalLike): string {
  return dec(price).gte(1) ? '0.01' : '0.0001';
}
