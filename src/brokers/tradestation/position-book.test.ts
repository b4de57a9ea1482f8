import { describe, expect, it } from 'vitest';
import { PositionBook } from './position-book.js';

const pos = (symbol: string, qty: string, extra: Record<string, unknown> = {}) => ({ AccountID: '11000001', PositionID: `11000001-${symbol}`, Symbol: symbol, Quantity: qty, LongShort: qty.startsWith('-') ? 'Short' : 'Long', AveragePrice: '100', ...extra });

describe('TradeStation position book (positions stream state)', () => {
  it('has no answer until the snapshot ends, then holds the snapshot', () => {
    const b = new PositionBook();
    expect(b.positions()).toBeNull();
    b.beginSnapshot();
    b.apply(pos('MSFT', '5'));
    expect(b.positions()).toBeNull();
    b.endSnapshot();
    expect(b.positions()).toEqual([pos('MSFT', '5')]);
  });

  it('an update replaces the position; Quantity "0" removes it; Deleted: true removes it whatever its quantity', () => {
    const b = new PositionBook();
    b.beginSnapshot();
    b.apply(pos('MSFT', '5'));
    b.apply(pos('SPY', '2'));
    b.endSnapshot();
    b.apply(pos('MSFT', '7'));
    expect(b.positions()?.find((p) => p.Symbol === 'MSFT')?.Quantity).toBe('7');
    b.apply(pos('MSFT', '0'));
    expect(b.positions()?.map((p) => p.Symbol)).toEqual(['SPY']);
    b.apply(pos('SPY', '2', { Deleted: true }));
    expect(b.positions()).toEqual([]);
  });

  it('a new connection re-snapshots: positions gone while disconnected disappear, and nothing is answered mid-snapshot', () => {
    const b = new PositionBook();
    b.beginSnapshot();
    b.apply(pos('MSFT', '5'));
    b.endSnapshot();
    b.invalidate();
    expect(b.positions()).toBeNull();
    b.beginSnapshot();
    b.apply(pos('SPY', '-3'));
    expect(b.positions()).toBeNull();
    b.endSnapshot();
    expect(b.positions()).toEqual([pos('SPY', '-3')]);
  });

  it('a message without a quantity only updates a known position; one without a symbol is ignored', () => {
    const b = new PositionBook();
    b.beginSnapshot();
    b.endSnapshot();
    b.apply({ Symbol: 'MSFT', AveragePrice: '1' } as never);
    expect(b.positions()).toEqual([]);
    b.apply(pos('MSFT', '4'));
    b.apply({ AccountID: '11000001', PositionID: '11000001-MSFT', Symbol: 'MSFT', AveragePrice: '101' } as never);
    expect(b.positions()).toEqual([pos('MSFT', '4', { AveragePrice: '101' })]);
    b.apply({ Quantity: '0' } as never);
    expect(b.positions()).toHaveLength(1);
  });
});
