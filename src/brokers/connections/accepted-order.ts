import { fmt } from '../../lib/decimal.js';
import type { BrokerOrder, BrokerOrderRequest, BrokerOrderStatus } from '../broker.js';

/**
 * What placeOrder answers when the broker has taken an order and reported no execution yet: the request
 * as sent, under the broker's id, nothing filled. Fills and later states come by push, polling or sync.
 */
export function acceptedOrder(req: BrokerOrderRequest, brokerOrderId: string, status: BrokerOrderStatus = 'OPEN'): BrokerOrder {
  return {
    brokerOrderId,
    clientOrderId: req.clientOrderId,
    symbol: req.instrument.symbol,
    exchange: req.instrument.exchange,
    side: req.side,
    type: req.type,
    quantity: fmt(req.quantity),
    filledQuantity: '0',
    averagePrice: null,
    status,
    updatedAt: new Date().toISOString(),
  };
}
