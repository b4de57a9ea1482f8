import { Decimal, dec, fmt } from '../../lib/decimal.js';
import type { BrokerFill } from '../broker.js';
import { averagePrice, orderFigures, type TsOrder } from './wire.js';
import { setBounded } from '../../lib/bounded-map.js';

interface Entry {
  cum: Decimal;
  notional: Decimal;
  fee: Decimal;
  fills: BrokerFill[];
}

/**
 * The fills of TradeStation orders, derived from what the API reports per order: the cumulative
 * FilledQuantity, the average FilledPrice and the cumulative CommissionFee. Every rise of the filled
 * quantity seen (on the stream, a poll or a read) is one fill: quantity the rise, price the rise of the
 * notional (average × quantity) over it, fee the rise of the commission, id `<OrderID>@<cumulative>`.
 * Pure bookkeeping, in memory; bounded (the oldest orders are forgotten first).
 */
export class FillLedger {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxOrders = 50_000) {}

  /** Record an order state; returns the fills it reveals (none if nothing new filled). */
  observe(account: string, o: TsOrder, now: string): Omit<BrokerFill, 'clientOrderId'>[] {
    const key = `${account}|${o.OrderID}`;
    let e = this.entries.get(key);
    const cum = dec(orderFigures(o).filled);
    if (!e) {
      if (cum.isZero()) return [];
      e = { cum: dec(0), notional: dec(0), fee: dec(0), fills: [] };
      setBounded(this.entries, key, e, this.maxOrders);
    }
    if (!cum.gt(e.cum)) return [];
    const avg = dec(averagePrice(o) ?? '0');
    const qty = cum.minus(e.cum);
    const notional = avg.mul(cum);
    let price = notional.minus(e.notional).div(qty).toDecimalPlaces(6);
    if (!price.gt(0)) price = avg; // an average that moved against the rise: take the average
    const commission = dec(o.CommissionFee || '0');
    const fee = Decimal.max(0, commission.minus(e.fee));
    const fill = { brokerFillId: `${o.OrderID}@${fmt(cum)}`, brokerOrderId: o.OrderID, quantity: fmt(qty), price: fmt(price), fee: fmt(fee), executedAt: o.ClosedDateTime && cum.gte(orderFigures(o).quantity) ? o.ClosedDateTime : now };
    Object.assign(e, { cum, notional: e.notional.plus(price.mul(qty)), fee: Decimal.max(e.fee, commission) });
    e.fills.push(fill as BrokerFill);
    return [fill];
  }

  fills(account: string, orderId: string): Omit<BrokerFill, 'clientOrderId'>[] {
    return [...(this.entries.get(`${account}|${orderId}`)?.fills ?? [])];
  }
}
