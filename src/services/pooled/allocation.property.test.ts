/**
 * A pooled parent fill split among many children: property-based (fast-check). For every generated
 * window: sums exact, no child above its remaining, every allocation whole lots and strictly within one
 * lot of its exact pro-rata share, the same result whatever the input order (determinism), and ties
 * broken by time priority (fairness). Fees: Σ exact, to the smallest currency unit, within one unit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec, Decimal } from '../../lib/decimal.js';
import { allocateFee, allocateNotional, allocateQuantity, unitFor, type AllocationClaim } from './allocation.js';
import { net } from './netting.js';

const lots = ['1', '5', '25', '0.001'];
const windowArb = fc
  .record({
    lot: fc.constantFrom(...lots),
    children: fc.array(fc.record({ lots: fc.integer({ min: 1, max: 500 }), seq: fc.integer({ min: 0, max: 50 }) }), { minLength: 1, maxLength: 40 }),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ lot, children, fraction }) => {
    const claims: AllocationClaim[] = children.map((c, i) => ({ id: `c${String(i).padStart(3, '0')}`, remaining: dec(c.lots).mul(lot).toFixed(), seq: c.seq }));
    const totalLots = children.reduce((s, c) => s + c.lots, 0);
    const fillLots = Math.floor(totalLots * fraction);
    return { lot, claims, quantity: dec(fillLots).mul(lot), totalLots };
  });

describe('pooled allocation of a parent fill to its children', () => {
  it('a fill is shared out exactly, in whole lots, each child within one lot of its pro-rata share and never above its remaining', () => {
    fc.assert(
      fc.property(windowArb, ({ lot, claims, quantity }) => {
        const out = allocateQuantity(quantity, lot, claims);
        const total = claims.reduce((s, c) => s.add(c.remaining), dec(0));
        let sum = dec(0);
        for (const c of claims) {
          const a = out.get(c.id)!;
          sum = sum.add(a);
          expect(a.mod(lot).isZero()).toBe(true);
          expect(a.gte(0) && a.lte(c.remaining)).toBe(true);
          const exact = quantity.mul(c.remaining).div(total);
          expect(a.sub(exact).abs().lt(lot)).toBe(true);
        }
        expect(sum.eq(quantity)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the same window in any order allocates the same (determinism)', () => {
    fc.assert(
      fc.property(windowArb, fc.integer(), ({ lot, claims, quantity }, seed) => {
        const shuffled = [...claims].sort((a, b) => ((a.id.charCodeAt(3) * 31 + seed) % 7) - ((b.id.charCodeAt(3) * 31 + seed) % 7));
        const a = allocateQuantity(quantity, lot, claims);
        const b = allocateQuantity(quantity, lot, shuffled);
        for (const c of claims) expect(a.get(c.id)!.eq(b.get(c.id)!)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('equal claims differ by at most one lot, and the extra lots go to the earliest orders (time priority)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 30 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 600 }), (n, each, want) => {
        const claims = Array.from({ length: n }, (_, i) => ({ id: `c${i}`, remaining: String(each), seq: n - i }));
        const quantity = Math.min(want, n * each);
        const out = allocateQuantity(quantity, 1, claims);
        const values = claims.map((c) => out.get(c.id)!.toNumber());
        expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
        // Larger seq = later order: a later order never gets more than an earlier one.
        const bySeq = [...claims].sort((x, y) => x.seq - y.seq).map((c) => out.get(c.id)!.toNumber());
        for (let i = 1; i < bySeq.length; i++) expect(bySeq[i]).toBeLessThanOrEqual(bySeq[i - 1]);
      }),
    );
  });

  it('a fill that is not whole lots, or larger than the children want, is refused', () => {
    expect(() => allocateQuantity('7', '5', [{ id: 'a', remaining: '10', seq: 0 }])).toThrow(/whole number of lots/);
    expect(() => allocateQuantity('15', '5', [{ id: 'a', remaining: '10', seq: 0 }])).toThrow(/exceeds/);
  });

  it('a worked example: 7 lots among children wanting 3, 3 and 4 go 2, 2 and 3 (largest remainder)', () => {
    const out = allocateQuantity('7', '1', [
      { id: 'late', remaining: '3', seq: 2 },
      { id: 'early', remaining: '3', seq: 1 },
      { id: 'big', remaining: '4', seq: 3 },
    ]);
    // exact shares 2.1, 2.1, 2.8: floors 2,2,2; one lot left goes to the largest remainder (big).
    expect([out.get('early')!.toString(), out.get('late')!.toString(), out.get('big')!.toString()]).toEqual(['2', '2', '3']);
  });
});

describe('pooled fee allocation', () => {
  it('a fee is split to the smallest currency unit, sums exactly and each share is within one unit of exact', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.constantFrom('0.01', '0.001'),
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 30 }),
        (cents, scale, qs) => {
          const fee = dec(cents).mul(scale);
          const shares = qs.map((q, i) => ({ id: `f${i}`, quantity: String(q), seq: i }));
          const out = allocateFee(fee, '0.01', shares);
          const unit = unitFor(fee, '0.01');
          const total = qs.reduce((s, q) => s + q, 0);
          let sum = dec(0);
          for (const s of shares) {
            const a = out.get(s.id)!;
            sum = sum.add(a);
            expect(a.mod(unit).isZero()).toBe(true);
            expect(a.sub(fee.mul(s.quantity).div(total)).abs().lt(unit)).toBe(true);
          }
          expect(sum.eq(fee)).toBe(true);
        },
      ),
    );
  });
});

describe('the cash of a crossed (or any) execution shared by its child fills', () => {
  // A price with up to 8 decimals (the parent's average, or a half-tick mid), split into two sides of the
  // same total quantity, as a cross is.
  const crossArb = fc
    .record({
      price: fc.tuple(fc.integer({ min: 1, max: 500_000 }), fc.integer({ min: 0, max: 99_999_999 })).map(([i, f]) => dec(i).add(dec(f).div(1e8))),
      buys: fc.array(fc.record({ q: fc.integer({ min: 1, max: 2000 }), seq: fc.integer({ min: 0, max: 20 }) }), { minLength: 1, maxLength: 30 }),
      sellCount: fc.integer({ min: 1, max: 30 }),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map(({ price, buys, sellCount, seed }) => {
      const total = buys.reduce((s, b) => s + b.q, 0);
      // Sellers: the same total cut at pseudo-random points.
      const n = Math.min(sellCount, total);
      const cuts = new Set<number>();
      for (let i = 1; cuts.size < n - 1; i++) cuts.add(1 + ((seed * 7919 + i * 104729) % (total - 1)));
      const points = [0, ...[...cuts].sort((a, b) => a - b), total];
      const sells = points.slice(1).map((p, i) => ({ q: p - points[i]!, seq: i % 5 }));
      const shares = (xs: { q: number; seq: number }[], tag: string) => xs.map((x, i) => ({ id: `${tag}${String(i).padStart(3, '0')}`, quantity: dec(x.q), seq: x.seq }));
      return { price, buys: shares(buys, 'b'), sells: shares(sells, 's') };
    });

  it('every amount is whole paise within one paisa of q × price, each side sums to q × price rounded half-up, so buyers pay exactly what sellers get', () => {
    fc.assert(
      fc.property(crossArb, ({ price, buys, sells }) => {
        const b = allocateNotional(price, '0.01', buys);
        const s = allocateNotional(price, '0.01', sells);
        for (const [side, out] of [[buys, b], [sells, s]] as const) {
          let sum = dec(0);
          for (const x of side) {
            const a = out.amounts.get(x.id)!;
            sum = sum.add(a);
            expect(a.decimalPlaces()).toBeLessThanOrEqual(2);
            expect(a.sub(x.quantity.mul(price)).abs().lt('0.01')).toBe(true);
          }
          const q = side.reduce((acc, x) => acc.add(x.quantity), dec(0));
          expect(sum.eq(out.total)).toBe(true);
          expect(out.total.eq(q.mul(price).toDecimalPlaces(2, Decimal.ROUND_HALF_UP))).toBe(true);
        }
        expect(b.total.eq(s.total)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the w2/w3 examples: a crossed sell of 10 at 405.5614094 gets 4055.61; 7 and 3 bought at the mid 405.175 pay 2836.23 and 1215.52 against a sell of 10 for 4051.75', () => {
    expect(allocateNotional('405.5614094', '0.01', [{ id: 'a', quantity: '10', seq: 0 }]).amounts.get('a')!.toFixed()).toBe('4055.61');
    const buys = allocateNotional('405.175', '0.01', [{ id: 'b1', quantity: '7', seq: 0 }, { id: 'b2', quantity: '3', seq: 1 }]);
    // 7 × 405.175 = 2836.225 and 3 × 405.175 = 1215.525: the total 4051.75 leaves one paisa for the earlier.
    expect([buys.amounts.get('b1')!.toFixed(), buys.amounts.get('b2')!.toFixed(), buys.total.toFixed()]).toEqual(['2836.23', '1215.52', '4051.75']);
    expect(allocateNotional('405.175', '0.01', [{ id: 's', quantity: '10', seq: 0 }]).total.toFixed()).toBe('4051.75');
    // Tick-priced executions are exact: nothing moves.
    expect(allocateNotional('405.15', '0.01', [{ id: 'x', quantity: '13', seq: 0 }]).amounts.get('x')!.toFixed()).toBe('5266.95');
  });
});

describe('netting a window', () => {
  it('buys and sells net to one parent: crossed = min, net = |difference|, and crossed + net = the larger side', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ side: fc.constantFrom('BUY' as const, 'SELL' as const), q: fc.integer({ min: 1, max: 1000 }) })), (cs) => {
        const r = net(cs.map((c, i) => ({ id: String(i), side: c.side, quantity: String(c.q) })));
        const buys = cs.filter((c) => c.side === 'BUY').reduce((s, c) => s + c.q, 0);
        const sells = cs.filter((c) => c.side === 'SELL').reduce((s, c) => s + c.q, 0);
        expect(r.crossedQuantity.toNumber()).toBe(Math.min(buys, sells));
        expect(r.netQuantity.toNumber()).toBe(Math.abs(buys - sells));
        expect(r.netSide).toBe(buys === sells ? null : buys > sells ? 'BUY' : 'SELL');
        expect(r.crossedQuantity.add(r.netQuantity).toNumber()).toBe(Math.max(buys, sells));
      }),
    );
  });
});
