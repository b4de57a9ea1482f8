/**
 * A smallcase investment as a value series, and the smallcase's own index: pure.
 *
 * The investment holds no cash: its value is its holdings at the day's closes, and money moves in and
 * out through its runs' fills (a buy puts quantity × price + fee in, a sell takes quantity × price − fee
 * out), which are its external flows.
 *
 * The index follows the baskets rule: 100 at creation; each version continues from the value it started
 * at: indexBase × Σ weight × close / basePrice (the close carried over days without one).
 */
import { Decimal, ZERO, dec, type DecimalLike } from '../../lib/decimal.js';
import { dayOf, type CashEvent, type DailyClose, type Day, type TradeEvent } from './valuation.js';

export interface InvestmentFill {
  at: Date;
  instrumentId: string;
  side: 'BUY' | 'SELL';
  quantity: DecimalLike;
  price: DecimalLike;
  fee: DecimalLike;
}

/** Cash events (flows in and out, netting to zero cash) and trades of an investment from its fills. */
export function investmentEvents(fills: readonly InvestmentFill[]): { cash: CashEvent[]; trades: TradeEvent[] } {
  const cash: CashEvent[] = [];
  const trades: TradeEvent[] = [];
  for (const f of fills) {
    const day = dayOf(f.at);
    const gross = dec(f.quantity).mul(f.price);
    const flow = f.side === 'BUY' ? gross.add(f.fee) : gross.sub(f.fee).neg();
    cash.push({ day, amount: flow, external: true }, { day, amount: flow.neg(), external: false });
    trades.push({ day, instrumentId: f.instrumentId, quantity: f.side === 'BUY' ? dec(f.quantity) : dec(f.quantity).neg(), price: f.price });
  }
  return { cash, trades };
}

export interface IndexVersion {
  version: number;
  indexBase: DecimalLike;
  /** the day the version took effect */
  from: Day;
  constituents: { instrumentId: string; weight: DecimalLike; basePrice: DecimalLike }[];
}

/** The index value per day (null until every constituent of the active version has a close). */
export function smallcaseIndex(days: readonly Day[], versions: readonly IndexVersion[], closes: readonly DailyClose[]): { day: Day; value: Decimal | null }[] {
  const sortedVersions = [...versions].sort((a, b) => a.version - b.version);
  const sorted = [...closes].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const last = new Map<string, Decimal>();
  let pi = 0;
  return days.map((day) => {
    while (pi < sorted.length && sorted[pi]!.day <= day) {
      const c = sorted[pi++]!;
      last.set(c.instrumentId, dec(c.close));
    }
    const v = [...sortedVersions].reverse().find((x) => x.from <= day) ?? sortedVersions[0];
    if (!v) return { day, value: null };
    let ratio: Decimal = ZERO;
    for (const c of v.constituents) {
      const base = dec(c.basePrice);
      if (base.isZero()) {
        ratio = ratio.add(c.weight);
        continue;
      }
      const px = last.get(c.instrumentId);
      if (!px) return { day, value: null };
      ratio = ratio.add(dec(c.weight).mul(px).div(base));
    }
    return { day, value: dec(v.indexBase).mul(ratio) };
  });
}
