import { Decimal } from 'decimal.js';

/**
 * Numbers arrive as exact decimal strings and are shown exactly: grouping comes from Intl on a BigInt (no
 * float ever holds money), the fraction is kept as sent, padded to the currency's minor digits.
 */

const groupers = new Map<string, Intl.NumberFormat>();
const symbols = new Map<string, { prefix: string; suffix: string; digits: number }>();

function grouper(locale: string): Intl.NumberFormat {
  let f = groupers.get(locale);
  if (!f) groupers.set(locale, (f = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 })));
  return f;
}

function localeFor(currency: string): string {
  return currency === 'INR' ? 'en-IN' : 'en-US';
}

function currencyParts(currency: string): { prefix: string; suffix: string; digits: number } {
  let s = symbols.get(currency);
  if (!s) {
    const f = new Intl.NumberFormat(localeFor(currency), { style: 'currency', currency });
    const parts = f.formatToParts(1);
    const idx = parts.findIndex((p) => p.type === 'integer');
    const cur = parts.find((p) => p.type === 'currency')?.value ?? currency;
    const before = parts.findIndex((p) => p.type === 'currency') < idx;
    s = { prefix: before ? cur : '', suffix: before ? '' : ` ${cur}`, digits: f.resolvedOptions().maximumFractionDigits ?? 2 };
    symbols.set(currency, s);
  }
  return s;
}

/** "1234567.5" → "12,34,567.50" (en-IN) — exact, any size. */
export function formatNumber(value: string | null | undefined, opts: { minDigits?: number; locale?: string } = {}): string {
  if (value === null || value === undefined || value === '') return '—';
  const m = /^(-)?(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!m) return value;
  const [, sign, int, frac = ''] = m;
  const digits = Math.max(opts.minDigits ?? 0, frac.replace(/0+$/, '').length);
  const grouped = grouper(opts.locale ?? 'en-US').format(BigInt(int));
  const fraction = digits > 0 ? `.${frac.padEnd(digits, '0').slice(0, Math.max(digits, frac.length))}` : '';
  return `${sign ?? ''}${grouped}${fraction}`;
}

/** An amount of money in its currency: "₹12,34,567.50", "$1,234.00", "-$5.25". */
export function formatMoney(value: string | null | undefined, currency: string): string {
  if (value === null || value === undefined || value === '') return '—';
  const { prefix, suffix, digits } = currencyParts(currency);
  const negative = value.trim().startsWith('-');
  const abs = negative ? value.trim().slice(1) : value.trim();
  const rounded = new Decimal(abs).toFixed(Math.max(digits, decimals(abs) > digits ? Math.min(decimals(abs), 4) : digits));
  return `${negative ? '-' : ''}${prefix}${formatNumber(rounded, { minDigits: digits, locale: localeFor(currency) })}${suffix}`;
}

function decimals(s: string): number {
  const i = s.indexOf('.');
  return i < 0 ? 0 : s.length - i - 1;
}

/** A signed change with its sign always shown: "+₹120.00" / "-₹3.50". */
export function formatSignedMoney(value: string | null | undefined, currency: string): string {
  if (value === null || value === undefined) return '—';
  const s = formatMoney(value, currency);
  return value.trim().startsWith('-') || new Decimal(value).isZero() ? s : `+${s}`;
}

/** CSS class for a profit or a loss. */
export function pnlClass(value: string | null | undefined): string {
  if (!value) return '';
  const d = new Decimal(value);
  return d.isZero() ? '' : d.isNegative() ? 'loss' : 'gain';
}

/** A ratio as a percentage: 0.0123 → "1.23%". Only for dimensionless analytics. */
export function formatPercent(ratio: number | null | undefined, digits = 2): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** quantity × price, exactly. */
export function times(a: string, b: string): string {
  return new Decimal(a).times(b).toString();
}

/** (price − cost) × quantity, exactly. */
export function pnl(price: string, cost: string, quantity: string): string {
  return new Decimal(price).minus(cost).times(quantity).toString();
}

export function add(...xs: (string | null | undefined)[]): string {
  return xs.reduce<Decimal>((acc, x) => (x ? acc.plus(x) : acc), new Decimal(0)).toString();
}
