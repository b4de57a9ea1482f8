import type { Logger } from '../../lib/logger.js';
import type { BrokerSessions } from '../connections/sessions.js';
import { OrderSocketSet } from '../connections/order-socket.js';
import type { UpstoxOrderRow } from './wire.js';

/**
 * The Upstox portfolio stream feed (order updates): `GET /v2/feed/portfolio-stream-feed/authorize?
 * update_types=order` answers `{status:"success",data:{authorized_redirect_uri:"wss://…"}}` (upstox-python
 * `WebsocketApi`, `WebsocketAuthRedirectResponseData`); the socket at that URI sends JSON text frames in
 * the webhook's shape (`update_type:"order"`, `user_id`, `order_id`, `status`, `filled_quantity`, `tag`,
 * …). Every (re)connect authorizes anew, since the URI is single-use.
 */
export function upstoxPortfolioStream(deps: {
  sessions: BrokerSessions;
  logger: Logger;
  /** The authorize call, through the adapter's budget and error mapping. */
  authorize: (connectionId: string) => Promise<string>;
  onOrder: (connectionId: string, row: UpstoxOrderRow) => void;
  minBackoffMs?: number;
}): OrderSocketSet {
  return new OrderSocketSet({
    label: 'Upstox portfolio stream',
    logger: deps.logger,
    minBackoffMs: deps.minBackoffMs,
    target: async (id) => {
      const c = await deps.sessions.open(id);
      const url = await deps.authorize(id);
      return { url, headers: { Authorization: `Bearer ${c.session.accessToken}` } };
    },
    onText: (id, text) => {
      const msg = JSON.parse(text) as UpstoxOrderRow & { update_type?: string };
      if (msg && typeof msg === 'object' && msg.order_id && (msg.update_type ?? 'order') === 'order') deps.onOrder(id, msg);
    },
  });
}
