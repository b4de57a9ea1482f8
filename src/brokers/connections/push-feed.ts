import { dec } from '../../lib/decimal.js';
import type { BrokerEvent, BrokerFill, BrokerOrder } from '../broker.js';
import type { Logger } from '../../lib/logger.js';
import { AccountPoller } from './account-poller.js';
import type { OrderSocketSet } from './order-socket.js';
import type { BrokerSessions } from './sessions.js';

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

/**
 * An adapter's fills from both directions: the poller over the active connections, and, where the broker
 * pushes order updates, one socket per active connection (opened as the poller and a faster follower see
 * connections come and go). Both feed one sink, so a fill is emitted once whichever finds it first.
 */
export class PushedAccountFeed {
  readonly poller: AccountPoller;
  readonly sink: PushFeedSink;
  readonly stream: OrderSocketSet | undefined;

  constructor(
    private readonly o: {
      sessions: Pick<BrokerSessions, 'active'>;
      broker: string;
      sink: PushFeedSink;
      pollAccount: (account: string) => Promise<void>;
      /** The broker's push channel, if configured: `push(account, read)` applies one pushed order update. */
      socket?: (push: (account: string, read: () => Promise<BrokerOrder | null>) => void) => OrderSocketSet | undefined;
    },
  ) {
    this.sink = o.sink;
    this.stream = o.socket?.((account, read) => void applyPushedOrder(this.sink, account, read));
    this.poller = new AccountPoller({
      label: o.sink.label,
      logger: o.sink.logger,
      accounts: async () => {
        const active = await this.activeIds();
        await this.stream?.sync(active.map((c) => c.connectionId));
        return active;
      },
      pollAccount: o.pollAccount,
    });
  }

  private activeIds() {
    return this.o.sessions.active(this.o.broker);
  }

  start(intervalMs: number): void {
    this.poller.start(intervalMs);
    // Sockets follow the active connections more often than polling, so a new connection streams at once.
    this.stream?.follow(async () => (await this.activeIds()).map((c) => c.connectionId), Math.min(intervalMs, 2_000));
  }

  poll(): Promise<void> {
    return this.poller.poll();
  }

  close(): void {
    this.poller.stop();
    this.stream?.close();
  }
}
