import { Decimal } from '../../../src/lib/decimal.js';

/** The Kite fake's read-only views (positions, margins, quotes) in Kite's documented shapes (kiteconnect-mocks). */

const D = (v: unknown) => new Decimal(String(v ?? 0));
const n = (d: Decimal) => Number(d.toFixed());

/** Kite's local timestamps: "2022-03-03 09:24:25" in IST. */
export function istNow(): string {
  return new Date(Date.now() + 5.5 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** `/portfolio/positions` rows from a user's trades. */
export function kitePositions(trades: Array<Record<string, unknown>>): unknown[] {
  const by = new Map<string, { tradingsymbol: string; exchange: string; qty: Decimal; cost: Decimal }>();
  for (const t of trades) {
    const k = `${t.exchange}:${t.tradingsymbol}`;
    const p = by.get(k) ?? { tradingsymbol: String(t.tradingsymbol), exchange: String(t.exchange), qty: D(0), cost: D(0) };
    const q = D(t.quantity).mul(t.transaction_type === 'BUY' ? 1 : -1);
    p.qty = p.qty.plus(q);
    p.cost = p.cost.plus(q.mul(D(t.average_price)));
    by.set(k, p);
  }
  return [...by.values()].map((p) => ({
    tradingsymbol: p.tradingsymbol,
    exchange: p.exchange,
    product: 'CNC',
    quantity: n(p.qty),
    average_price: p.qty.isZero() ? 0 : n(p.cost.div(p.qty).toDecimalPlaces(2)),
    pnl: 0,
  }));
}

/** `/user/margins/equity`: live_balance = cash − debits. */
export function kiteMargins(cash: Decimal, debits: Decimal): unknown {
  const live = cash.minus(debits);
  return {
    enabled: true,
    net: n(live),
    available: { adhoc_margin: 0, cash: n(cash), opening_balance: n(cash), live_balance: n(live), collateral: 0, intraday_payin: 0 },
    utilised: { debits: n(debits), span: 0, exposure: 0 },
  };
}

/** `/quote?i=EXCHANGE:SYMBOL…` keyed as Kite keys it. */
export function kiteQuotes(quotes: Map<string, { bid: string; ask: string; last: string }>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const q = quotes.get(k);
    if (!q) continue;
    out[k] = {
      instrument_token: 408065,
      timestamp: istNow(),
      last_price: Number(q.last),
      depth: { buy: [{ price: Number(q.bid), quantity: 100, orders: 1 }], sell: [{ price: Number(q.ask), quantity: 100, orders: 1 }] },
    };
  }
  return out;
}
