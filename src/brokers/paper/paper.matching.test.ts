import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Quote } from '../../market/quote.js';
import { dec, isMultipleOf } from '../../lib/decimal.js';
import { matchOrder, stopCrossed, type MatchableOrder } from './paper.matching.js';

const NO_SLIP = { slippageBps: '0' };

function quote(over: Partial<Quote> = {}): Quote {
  return {
    symbol: 'INFY',
    exchange: 'NSE',
    bid: '99.90',
    ask: '100.10',
    bidSize: '500',
    askSize: '500',
    last: '100.00',
    volume: null,
    timestamp: '2026-01-05T09:15:00.000Z',
    ...over,
  };
}

function order(over: Partial<MatchableOrder> = {}): MatchableOrder {
  return { side: 'BUY', type: 'MARKET', remaining: '100', limitPrice: null, stopPrice: null, triggered: false, tickSize: '0.05', lotSize: '1', ...over };
}

describe('paper matching', () => {
  it('market buy takes the ask in full when the displayed size covers it', () => {
    expect(matchOrder(order(), quote(), NO_SLIP)).toEqual({ triggered: true, fill: { quantity: '100', price: '100.1' } });
  });

  it('market sell takes the bid', () => {
    expect(matchOrder(order({ side: 'SELL' }), quote(), NO_SLIP).fill).toEqual({ quantity: '100', price: '99.9' });
  });

  it('market buy larger than the displayed ask size fills partially', () => {
    expect(matchOrder(order({ remaining: '800' }), quote({ askSize: '300' }), NO_SLIP).fill?.quantity).toBe('300');
  });

  it('partial fill is rounded down to the lot size', () => {
    expect(matchOrder(order({ remaining: '800', lotSize: '50' }), quote({ askSize: '320' }), NO_SLIP).fill?.quantity).toBe('300');
  });

  it('no fill when the displayed size is below one lot', () => {
    expect(matchOrder(order({ lotSize: '50' }), quote({ askSize: '20' }), NO_SLIP).fill).toBeNull();
  });

  it('an unknown displayed size does not cap the fill', () => {
    expect(matchOrder(order({ remaining: '10000' }), quote({ askSize: null }), NO_SLIP).fill?.quantity).toBe('10000');
  });

  it('no fill for a buy when there is no ask', () => {
    expect(matchOrder(order(), quote({ ask: null }), NO_SLIP).fill).toBeNull();
  });

  it('slippage makes a buy pay more, rounded up to the tick', () => {
    // 100.10 × 1.0010 = 100.2001 → 100.25 on a 0.05 grid
    expect(matchOrder(order(), quote(), { slippageBps: '10' }).fill?.price).toBe('100.25');
  });

  it('slippage makes a sell receive less, rounded down to the tick', () => {
    // 99.90 × 0.9990 = 99.8001 → 99.80
    expect(matchOrder(order({ side: 'SELL' }), quote(), { slippageBps: '10' }).fill?.price).toBe('99.8');
  });

  it('an off-grid ask is put on the tick grid', () => {
    expect(matchOrder(order(), quote({ ask: '100.12' }), NO_SLIP).fill?.price).toBe('100.15');
    expect(matchOrder(order({ side: 'SELL' }), quote({ bid: '99.93' }), NO_SLIP).fill?.price).toBe('99.9');
  });

  it('limit buy below the ask rests', () => {
    expect(matchOrder(order({ type: 'LIMIT', limitPrice: '100.05' }), quote(), NO_SLIP).fill).toBeNull();
  });

  it('limit buy at or above the ask fills at the ask, not at the limit', () => {
    expect(matchOrder(order({ type: 'LIMIT', limitPrice: '100.10' }), quote(), NO_SLIP).fill?.price).toBe('100.1');
    expect(matchOrder(order({ type: 'LIMIT', limitPrice: '105' }), quote(), NO_SLIP).fill?.price).toBe('100.1');
  });

  it('limit sell fills when the bid reaches the limit', () => {
    expect(matchOrder(order({ side: 'SELL', type: 'LIMIT', limitPrice: '99.95' }), quote(), NO_SLIP).fill).toBeNull();
    expect(matchOrder(order({ side: 'SELL', type: 'LIMIT', limitPrice: '99.90' }), quote(), NO_SLIP).fill?.price).toBe('99.9');
  });

  it('slippage never pushes a limit buy beyond its limit', () => {
    expect(matchOrder(order({ type: 'LIMIT', limitPrice: '100.15' }), quote(), { slippageBps: '50' }).fill?.price).toBe('100.15');
  });

  it('buy stop waits until last reaches the stop', () => {
    const stop = order({ type: 'STOP', stopPrice: '101' });
    expect(matchOrder(stop, quote({ last: '100.95' }), NO_SLIP)).toEqual({ triggered: false, fill: null });
    expect(matchOrder(stop, quote({ last: '101', ask: '101.05' }), NO_SLIP)).toEqual({ triggered: true, fill: { quantity: '100', price: '101.05' } });
  });

  it('sell stop triggers when last falls to the stop', () => {
    expect(stopCrossed('SELL', '95', '95.05')).toBe(false);
    expect(stopCrossed('SELL', '95', '95')).toBe(true);
    const res = matchOrder(order({ side: 'SELL', type: 'STOP', stopPrice: '95' }), quote({ last: '94.9', bid: '94.85' }), NO_SLIP);
    expect(res.fill?.price).toBe('94.85');
  });

  it('stop-limit triggers, then rests when the limit is not marketable', () => {
    const o = order({ type: 'STOP_LIMIT', stopPrice: '101', limitPrice: '101' });
    const res = matchOrder(o, quote({ last: '101.2', ask: '101.30' }), NO_SLIP);
    expect(res).toEqual({ triggered: true, fill: null });
    // Once triggered it is a plain limit: the next quote with ask <= 101 fills even though last fell back.
    expect(matchOrder({ ...o, triggered: true }, quote({ last: '100.5', ask: '100.95' }), NO_SLIP).fill?.price).toBe('100.95');
  });

  it('property: a fill never exceeds the remaining or the displayed size, and sits on the grids', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1000, max: 200000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.constantFrom('BUY' as const, 'SELL' as const),
        (remaining, size, cents, slip, side) => {
          const px = dec(cents).div(100).toFixed(2);
          const res = matchOrder(order({ side, remaining: String(remaining), lotSize: '5' }), quote({ bid: px, ask: px, bidSize: String(size), askSize: String(size) }), {
            slippageBps: String(slip),
          });
          if (!res.fill) return dec(size).lt(5) || dec(remaining).lt(5);
          const q = dec(res.fill.quantity);
          return q.lte(remaining) && q.lte(size) && isMultipleOf(q, '5') && isMultipleOf(res.fill.price, '0.05') && dec(res.fill.price).gt(0);
        },
      ),
    );
  });

  describe('market protection', () => {
    it('a protected market buy fills at the ask when the ask is within protection', () => {
      expect(matchOrder(order({ protectionPrice: '105.10' }), quote(), NO_SLIP)).toEqual({ triggered: true, fill: { quantity: '100', price: '100.1' } });
    });

    it('a protected market buy with the ask one tick above protection does not fill and reports the hit', () => {
      expect(matchOrder(order({ protectionPrice: '100.05' }), quote(), NO_SLIP)).toEqual({ triggered: true, fill: null, protectionHit: true });
    });

    it('slippage is capped at the protection price, put on the tick grid downward', () => {
      // ask 100.10 + 500 bps = 105.105 → 105.15 unprotected; protection 100.17 → ceiling 100.15
      expect(matchOrder(order({ protectionPrice: '100.17' }), quote(), { slippageBps: '500' }).fill?.price).toBe('100.15');
    });

    it('a buy stop that gaps above its protection is triggered and then hit, never filled higher', () => {
      const gapped = quote({ bid: '149.90', ask: '150.10', last: '150.00' });
      expect(matchOrder(order({ type: 'STOP', stopPrice: '101.00', protectionPrice: '106.05' }), gapped, NO_SLIP)).toEqual({
        triggered: true,
        fill: null,
        protectionHit: true,
      });
    });

    it('a protected sell never fills below its floor', () => {
      expect(matchOrder(order({ side: 'SELL', protectionPrice: '99.95' }), quote(), NO_SLIP)).toEqual({ triggered: true, fill: null, protectionHit: true });
      expect(matchOrder(order({ side: 'SELL', protectionPrice: '95.00' }), quote(), NO_SLIP).fill?.price).toBe('99.9');
    });

    it('property: a protected buy never fills above its protection price, at any quote', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 1000 }), (askTicks, protTicks, slip) => {
          const m = matchOrder(order({ protectionPrice: dec(protTicks).mul('0.05').add('0.02').toFixed() }), quote({ ask: dec(askTicks).mul('0.05').toFixed() }), {
            slippageBps: String(slip),
          });
          if (m.fill) expect(dec(m.fill.price).lte(dec(protTicks).mul('0.05').add('0.02'))).toBe(true);
          else expect(m.protectionHit).toBe(true);
        }),
      );
    });
  });
});
