import type { Logger } from '../../lib/logger.js';
import type { BrokerSessions } from '../connections/sessions.js';
import { OrderSocketSet } from '../connections/order-socket.js';
import type { FyersOrderRow } from './wire.js';

/** An order as the Fyers order socket sends it: the raw OMS field names, before the SDK's renaming. */
export interface FyersSocketOrder {
  id: string;
  org_ord_status: number;
  symbol: string;
  qty: number;
  qty_filled?: number;
  qty_remaining?: number;
  price_limit?: number;
  price_stop?: number;
  price_traded?: number;
  ord_type: number;
  tran_side: number;
  status_msg?: string;
  oms_msg?: string;
  ordertag?: string;
}

/** The socket's raw order in the REST order book's terms (`org_ord_status` → `status`, …). */
export function fromSocketOrder(o: FyersSocketOrder): FyersOrderRow {
  const filled = o.qty_filled ?? (Number(o.org_ord_status) === 2 ? o.qty : 0);
  return {
    id: String(o.id),
    symbol: o.symbol,
    qty: o.qty,
    filledQty: filled,
    remainingQuantity: o.qty_remaining,
    limitPrice: o.price_limit,
    stopPrice: o.price_stop,
    tradedPrice: o.price_traded,
    type: Number(o.ord_type),
    side: Number(o.tran_side),
    status: Number(o.org_ord_status),
    message: o.oms_msg ?? o.status_msg ?? '',
    // The socket prefixes the tag with its kind ("2:Untagged"); the order book does not.
    orderTag: (o.ordertag ?? '').replace(/^\d+:/, ''),
  };
}

/**
 * The Fyers API v3 order socket (fyers-apiv3 `FyersWebsocket/order_ws.py`): `wss://socket.fyers.in/trade/v3`
 * with header `authorization: <app_id>:<access_token>`, subscribe `{"T":"SUB_ORD","SLIST":["orders"],
 * "SUB_T":1}`, keep alive with a `__ping` text frame every 10 s; order updates arrive as
 * `{"s":"ok","orders":{id, org_ord_status, qty, qty_filled, ordertag, …}}`.
 */
export function fyersOrderSocket(deps: {
  wsUrl: string;
  sessions: BrokerSessions;
  logger: Logger;
  onOrder: (connectionId: string, row: FyersOrderRow) => void;
  minBackoffMs?: number;
}): OrderSocketSet {
  return new OrderSocketSet({
    label: 'Fyers order socket',
    logger: deps.logger,
    minBackoffMs: deps.minBackoffMs,
    target: async (id) => {
      const c = await deps.sessions.open(id);
      return {
        url: deps.wsUrl,
        headers: { authorization: `${c.app.appId ?? ''}:${c.session.accessToken}` },
        hello: [JSON.stringify({ T: 'SUB_ORD', SLIST: ['orders'], SUB_T: 1 })],
        ping: { text: '__ping', everyMs: 10_000 },
      };
    },
    onText: (id, text) => {
      if (!text.startsWith('{')) return; // pong
      const msg = JSON.parse(text) as { s?: string; orders?: FyersSocketOrder };
      if (msg.s === 'ok' && msg.orders?.id) deps.onOrder(id, fromSocketOrder(msg.orders));
    },
  });
}
