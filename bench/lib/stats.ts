/** Small statistics and formatting helpers for the benchmarks. Figures are printed, never asserted. */

/** Nearest-rank percentile of an ascending-sorted array (p in [0, 100]); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : Number.NaN;
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : Number.NaN, mean };
}

export function ms(v: number): string {
  if (!Number.isFinite(v)) return '—';
  return v < 10 ? `${v.toFixed(2)} ms` : v < 100 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

export function rate(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(1)}/s` : '—';
}

/** A plain text table with right-aligned columns after the first. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));

/** Wall-clock milliseconds with sub-millisecond resolution (comparable with server timestamps). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}
