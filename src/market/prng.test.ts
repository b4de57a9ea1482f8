import { describe, expect, it } from 'vitest';
import { deriveSeed, Prng } from './prng.js';

describe('Prng', () => {
  it('repeats its sequence under the same seed and differs under another', () => {
    const a = new Prng(123);
    const b = new Prng(123);
    const c = new Prng(124);
    const sa = Array.from({ length: 50 }, () => a.next());
    expect(Array.from({ length: 50 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 50 }, () => c.next())).not.toEqual(sa);
    expect(sa.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('draws standard normals: mean near 0, variance near 1 over 100k draws', () => {
    const r = new Prng(20260105);
    let s = 0;
    let ss = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      ss += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(ss / n - 1)).toBeLessThan(0.02);
  });

  it('int() stays within its inclusive bounds and reaches both ends', () => {
    const r = new Prng(9);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(r.int(2, 5));
    expect([...seen].sort()).toEqual([2, 3, 4, 5]);
  });

  it('derives distinct, stable per-instrument seeds', () => {
    expect(deriveSeed(1, 'NSE:RELIANCE')).toBe(deriveSeed(1, 'NSE:RELIANCE'));
    expect(deriveSeed(1, 'NSE:RELIANCE')).not.toBe(deriveSeed(1, 'NSE:TCS'));
    expect(deriveSeed(1, 'NSE:RELIANCE')).not.toBe(deriveSeed(2, 'NSE:RELIANCE'));
  });
});
