/**
 * Netting (pure): a window's market children of one instrument, buys against sells. Only the net goes
 * to the broker as one parent order; the crossed part (the smaller side) fills internally at the price
 * the parent gets, so both sides of a window get one price per instrument.
 */
import { dec, type Decimal, type DecimalLike } from '../../lib/decimal.js';

export type Side = 'BUY' | 'SELL';

export interface NettingChild {
  id: string;
  side: Side;
  quantity: DecimalLike;
}

export interface NetResult {
  buyQuantity: Decimal;
  sellQuantity: Decimal;
  /** Matched internally: min(buys, sells). */
  crossedQuantity: Decimal;
  /** The side of the parent order, or null when the window nets to zero. */
  netSide: Side | null;
  /** The parent order's quantity: |buys − sells|. */
  netQuantity: Decimal;
}

export function net(children: readonly NettingChild[]): NetResult {
  let buy = dec(0);
  let sell = dec(0);
  for (const c of children) {
    const q = dec(c.quantity);
    if (c.side === 'BUY') buy = buy.add(q);
    else sell = sell.add(q);
  }
  const crossed = buy.lt(sell) ? buy : sell;
  const netQuantity = buy.sub(sell).abs();
  return { buyQuantity: buy, sellQuantity: sell, crossedQuantity: crossed, netSide: netQuantity.isZero() ? null : buy.gt(sell) ? 'BUY' : 'SELL', netQuantity };
}

/** Group items by a key, keeping their order. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}
