import { dec } from '../../lib/decimal.js';
import type { BrokerEvent, BrokerFill, BrokerOrder } from '../broker.js';
import type { Logger } from '../../lib/logger.js';

/**
 * What an adapter lends the push path: its fills for an order (read back through the API, by the
 * broker's trade id), its event emitter, and the set of keys already emitted, shared with its poller so
 * that a fill found by both (or pushed twice) is emitted once.
 */
export interface PushFeedSink {
  label: string;
  logger: Logger;
  fills: (account: string, brokerOrderId: string) => Promise<BrokerFill[]>;
  emit: (e: BrokerEvent) => void;
  emitted: Set<string>;
  /** The poller's key for a fill; default `${account}|fill|${brokerFillId}`. */
  fillKey?: (account: string, f: BrokerFill) => string;
}

/**
 * The one path for a pushed order update (Kite's socket, the Upstox portfolio stream, the Fyers and
 * Angel One order sockets): an order of ours with a filled quantity has its trades read back and each new
 * one emitted as a fill; an order that ended (cancelled, rejected, expired) is emitted once. A failure is
 * logged and left to polling.
 */
export async function applyPushedOrder(sink: PushFeedSink, account: string, read: () => Promise<BrokerOrder | null>): Promise<void> {
  try {
    const order = await read();
    if (!order?.clientOrderId) return;
    if (dec(order.filledQuantity).gt(0)) {
      for (const f of await sink.fills(account, order.brokerOrderId)) {
        const key = sink.fillKey ? sink.fillKey(account, f) : `${account}|fill|${f.brokerFillId}`;
        if (sink.emitted.has(key)) continue;
        sink.emitted.add(key);
        sink.emit({ kind: 'fill', account, fill: f });
      }
    }
    const end = `${account}|end|${order.brokerOrderId}|${order.status}`;
    if ((order.status === 'CANCELED' || order.status === 'REJECTED' || order.status === 'EXPIRED') && !sink.emitted.has(end)) {
      sink.emitted.add(end);
      sink.emit({ kind: 'order', account, order });
    }
  } catch (err) {
    sink.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message }, connectionId: account }, `${sink.label} order update not applied; polling will find it`);
  }
}
