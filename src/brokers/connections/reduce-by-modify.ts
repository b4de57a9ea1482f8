import { dec } from '../../lib/decimal.js';
import { BrokerOrderNotFoundError, BrokerRejectedError, type BrokerOrder } from '../broker.js';

/** What an adapter whose broker modifies orders in place offers. */
export interface ModifiesInPlace {
  getOrder(account: string, ref: { brokerOrderId: string }): Promise<BrokerOrder | null>;
  modifyOrder(account: string, brokerOrderId: string, change: { quantity: string }): Promise<BrokerOrder>;
}

/**
 * BrokerAdapter.reduceOrder for a broker that modifies an order's quantity in place (Kite's PUT
 * /orders/regular/{id}, Fyers' PATCH /api/v3/orders/sync, Upstox's PUT /v3/order/modify, Angel One's
 * modifyOrder, IBKR's POST /iserver/account/{acct}/order/{id}): the new quantity is the order's new TOTAL,
 * as those APIs define it (pending = quantity − filled). The order is read first, so a reduce already
 * applied (a retry) is not sent again, and one the broker would have to refuse (order ended, quantity
 * at or below what has filled) is refused here without a call; the broker's own refusal, if the order
 * filled meanwhile, comes back as BrokerRejectedError from the modify call. The order is read again
 * after the modify: a broker that answered 200 but did not take the new quantity is a refusal.
 */
export async function reduceByModify(adapter: ModifiesInPlace, account: string, brokerOrderId: string, quantity: string): Promise<BrokerOrder> {
  const current = await adapter.getOrder(account, { brokerOrderId });
  if (!current) throw new BrokerOrderNotFoundError(brokerOrderId);
  const target = dec(quantity);
  if (dec(current.quantity).eq(target)) return current;
  if (current.status !== 'OPEN' && current.status !== 'PARTIALLY_FILLED') throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be modified`, 'ORDER_NOT_OPEN');
  if (target.gte(current.quantity)) throw new BrokerRejectedError(`quantity ${quantity} is not below the order's ${current.quantity}`, 'NOT_A_REDUCTION');
  if (target.lte(current.filledQuantity)) throw new BrokerRejectedError(`quantity ${quantity} is not above the ${current.filledQuantity} already filled`, 'QUANTITY_BELOW_FILLED');
  const after = await adapter.modifyOrder(account, brokerOrderId, { quantity });
  if (!dec(after.quantity).eq(target)) throw new BrokerRejectedError(`the broker kept order ${brokerOrderId} at ${after.quantity}`, 'NOT_MODIFIED');
  return after;
}
