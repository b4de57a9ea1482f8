import { describe, expect, it } from 'vitest';
import { dec, Decimal } from '../../lib/decimal.js';
import { fillEffects, type FillBooks } from './fill-math.js';
import type { FillRow, OrderRow } from './order.snapshot.js';
import { valuePosition } from '../portfolio.service.js';
import { applyTrade } from '../analytics/activities.js';

const now = new Date('2026-12-03T10:00:00Z');

function order(side: 'BUY' | 'SELL', quantity: string): OrderRow {
  return {
    id: `o-${side}-${quantity}`,
    portfolioId: 'p',
    instrumentId: 'i',
    side,
    type: 'MARKET',
    quantity,
    filledQuantity: '0',
    averageFillPrice: null,
    feesPaid: '0',
    status: 'OPEN',
    brokerOrderId: null,
    createdAt: now,
    updatedAt: now,
    closedAt: null,
  } as unknown as OrderRow;
}

/** Applies one complete fill of `quantity` at `price` to `position`, as the order loop does. */
function fill(position: FillBooks['position'], side: 'BUY' | 'SELL', quantity: string, price: string) {
  const o = order(side, quantity);
  const row = { id: `f-${side}-${quantity}`, orderId: o.id, portfolioId: 'p', brokerFillId: 'b', quantity, price, fee: '0', executedAt: now, createdAt: now } as FillRow;
  return fillEffects(
    { order: o, position, cash: dec('1000000'), heldTotal: dec(0), hold: null },
    { brokerFillId: 'b', brokerOrderId: 'bo', clientOrderId: o.id, quantity, price, fee: '0', executedAt: now.toISOString() },
    row,
    now,
  ).position;
}

describe('a position’s P&L from its average cost', () => {
  // 15 shares cost 23,162.50 in all; 6 of them carry 9,265.00 and sold for 9,261.00; the 9 left carry
  // 13,897.50 against 13,894.20 at 1,543.80. At 8 places the average (1544.16666667) made these
  // −4.00000002 and −3.30000003.
  it('realises and values exactly what the fills say, to the cent', () => {
    let p: FillBooks['position'] = null;
    p = fill(p, 'BUY', '10', '1544.30');
    p = fill(p, 'BUY', '5', '1543.90');
    p = fill(p, 'SELL', '6', '1543.50');
    expect(dec(p.realizedPnl).eq('-4')).toBe(true);
    expect(p.quantity).toBe('9');
    const v = valuePosition({ portfolioId: 'p', instrumentId: 'i', ...p }, '1543.80');
    expect(v.unrealizedPnl).toBe('-3.3');
    expect(v.realizedPnl).toBe('-4');
    // Shown to 8 places, as before.
    expect(v.averageCost).toBe('1544.16666667');
  });

  it('an imported history gives the same figures as fills', () => {
    let p = { quantity: dec(0), averageCost: dec(0), realizedPnl: dec(0) };
    p = applyTrade(p, 'BUY', dec(10), dec('1544.30'));
    p = applyTrade(p, 'BUY', dec(5), dec('1543.90'));
    p = applyTrade(p, 'SELL', dec(6), dec('1543.50'));
    expect(p.realizedPnl.eq(-4)).toBe(true);
    expect(dec('1543.80').sub(p.averageCost).mul(p.quantity).toDecimalPlaces(8).eq(new Decimal('-3.3'))).toBe(true);
  });
});
