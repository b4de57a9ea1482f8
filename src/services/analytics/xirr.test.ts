import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xirr, xnpv, type CashFlow } from './xirr.js';

const d = (s: string) => new Date(`${s}T00:00:00Z`);

describe('xirr with Excel semantics', () => {
  it("gives 0.373362535 on Microsoft's published XIRR example", () => {
    const flows: CashFlow[] = [
      { time: d('2008-01-01'), amount: -10000 },
      { time: d('2008-03-01'), amount: 2750 },
      { time: d('2008-10-30'), amount: 4250 },
      { time: d('2009-02-15'), amount: 3250 },
      { time: d('2009-04-01'), amount: 2750 },
    ];
    const r = xirr(flows);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // Excel shows 0.373362535; the exact root is 0.37336253351883 (XNPV 2e-13 there, -8.6e-6 at
    // Excel's figure), so the two agree to Excel's own stopping tolerance (1e-8)
    expect(Math.abs(r.rate - 0.373362535)).toBeLessThan(2e-9);
    expect(r.rate).toBeCloseTo(0.3733625335188, 12);
    expect(r.method).toBe('newton');
    expect(Math.abs(xnpv(r.rate, flows))).toBeLessThan(1e-6);
  });

  it('accepts amounts as exact decimal text', () => {
    const r = xirr([
      { time: d('2020-01-01'), amount: '-1000.00' },
      { time: d('2021-01-01'), amount: '1100.00' },
    ]);
    expect(r.ok && r.rate).toBeCloseTo((1100 / 1000) ** (365 / 366) - 1, 12);
  });

  it('solves a 99% loss where Newton from 0.1 jumps below -1 (bracketing)', () => {
    const flows = [
      { time: d('2020-01-01'), amount: -10000 },
      { time: d('2020-12-31'), amount: 100 },
    ];
    const r = xirr(flows);
    expect(r).toMatchObject({ ok: true, method: 'bracket' });
    if (r.ok) expect(r.rate).toBeCloseTo(0.01 ** (365 / 365) - 1, 9);
  });

  it('solves a thousandfold gain in ten days (rate far beyond Newton from 0.1)', () => {
    const flows = [
      { time: d('2020-01-01'), amount: -100 },
      { time: d('2020-01-11'), amount: 100000 },
    ];
    const r = xirr(flows);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.rate / (1000 ** 36.5 - 1)).toBeCloseTo(1, 6);
  });

  it('solves when Newton stalls on a flat derivative: alternating flows with a root near -0.5', () => {
    const flows = [
      { time: d('2020-01-01'), amount: -1000 },
      { time: d('2021-01-01'), amount: 3000 },
      { time: d('2022-01-01'), amount: -2100 },
      { time: d('2023-01-01'), amount: 50 },
    ];
    const r = xirr(flows);
    expect(r.ok).toBe(true);
    if (r.ok) expect(Math.abs(xnpv(r.rate, flows))).toBeLessThan(1e-6);
  });

  it('answers NO_SOLUTION when no rate zeroes the present value', () => {
    // -100 + 50 v - 100 v² is negative for every v = 1/(1+r) > 0
    const flows = [
      { time: d('2020-01-01'), amount: -100 },
      { time: d('2021-01-01'), amount: 50 },
      { time: d('2022-01-01'), amount: -100 },
    ];
    expect(xirr(flows)).toEqual({ ok: false, reason: 'NO_SOLUTION' });
  });

  it('answers NEEDS_POSITIVE_AND_NEGATIVE for one-signed flows or a single flow, like Excel #NUM!', () => {
    expect(xirr([{ time: d('2020-01-01'), amount: -1 }, { time: d('2020-02-01'), amount: -2 }])).toEqual({
      ok: false,
      reason: 'NEEDS_POSITIVE_AND_NEGATIVE',
    });
    expect(xirr([{ time: d('2020-01-01'), amount: -1 }])).toEqual({ ok: false, reason: 'NEEDS_POSITIVE_AND_NEGATIVE' });
  });

  it('answers NO_TIME_SPAN when every flow is on the same day', () => {
    expect(xirr([{ time: d('2020-01-01'), amount: -1 }, { time: new Date('2020-01-01T15:00:00Z'), amount: 2 }])).toEqual({
      ok: false,
      reason: 'NO_TIME_SPAN',
    });
  });

  it('counts whole days: the time of day does not change the rate', () => {
    const a = xirr([{ time: new Date('2020-01-01T09:00:00Z'), amount: -100 }, { time: new Date('2021-01-01T23:00:00Z'), amount: 110 }]);
    const b = xirr([{ time: d('2020-01-01'), amount: -100 }, { time: d('2021-01-01'), amount: 110 }]);
    expect(a.ok && b.ok && a.rate).toBe(b.ok && b.rate);
  });

  it('property: the rate of a single flow pair is (B/A)^(365/days) - 1', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e7, noNaN: true }),
        fc.double({ min: 0.05, max: 20, noNaN: true }),
        fc.integer({ min: 1, max: 3650 }),
        fc.integer({ min: 0, max: 20000 }),
        (a, ratio, days, startDay) => {
          const t0 = new Date(Date.UTC(2000, 0, 1) + startDay * 86_400_000);
          const t1 = new Date(t0.getTime() + days * 86_400_000);
          const r = xirr([{ time: t0, amount: -a }, { time: t1, amount: a * ratio }]);
          const expected = ratio ** (365 / days) - 1;
          // keep 1 + rate representable: rates within 1e-9 of -1 or above 1e250 are beyond doubles
          fc.pre(expected > -1 + 1e-9 && expected < 1e250);
          expect(r.ok).toBe(true);
          if (r.ok) expect(Math.abs(r.rate - expected)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(expected)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
