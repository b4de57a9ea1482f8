import type { Logger } from '../../lib/logger.js';
import type { BrokerSessions } from '../connections/sessions.js';
import { OrderSocketSet } from '../connections/order-socket.js';
import type { AngelOrderRow } from './wire.js';

/** One message of the SmartAPI order status socket. */
export interface AngelOrderUpdate {
  'user-id': string;
  'status-code': string;
  /** AB00 connected, AB01 open, AB02 cancelled, AB03 rejected, AB04 modified, AB05 complete, AB06–AB08 AMO, AB09 open pending, AB10 trigger pending, AB11 modify pending. */
  'order-status': string;
  'error-message': string;
  orderData: AngelOrderRow & { fillid?: string; unfilledshares?: string };
}

/**
 * The SmartAPI "Websocket Order Status" (smartapi.angelone.in docs): `wss://tns.angelone.in/smart-order-
 * update` with header `Authorization: Bearer <jwt>`, at most 3 connections per client code, a `ping`
 * text frame every 10 s (answered `pong`). The first message is `order-status` AB00 with an empty
 * `orderData`; later ones carry the order in the order book's field names.
 */
export function angelOrderSocket(deps: {
  wsUrl: string;
  sessions: BrokerSessions;
  logger: Logger;
  onOrder: (connectionId: string, row: AngelOrderRow) => void;
  minBackoffMs?: number;
}): OrderSocketSet {
  return new OrderSocketSet({
    label: 'Angel One order socket',
    logger: deps.logger,
    minBackoffMs: deps.minBackoffMs,
    target: async (id) => {
      const c = await deps.sessions.open(id);
      return { url: deps.wsUrl, headers: { Authorization: `Bearer ${c.session.accessToken}` }, ping: { text: 'ping', everyMs: 10_000 } };
    },
    onText: (id, text) => {
      if (!text.startsWith('{')) return; // pong
      const msg = JSON.parse(text) as AngelOrderUpdate;
      if (msg['order-status'] !== 'AB00' && msg.orderData?.orderid) deps.onOrder(id, msg.orderData);
    },
  });
}
