import { BrokerAuthError, type BrokerEvent, type BrokerFill, type BrokerOrder } from '../broker.js';
import type { BrokerSessions } from './sessions.js';

/**
 * How one adapter reads an account's books for reconciliation: its order book (rows mapped to our
 * orders; ours are those with a client order id) and its day's trade book (each trade tied to its order
 * and keyed by the broker's trade id).
 */
export interface AccountBooks<O, T> {
  orders: (account: string) => Promise<O[]>;
  toOrder: (account: string, row: O) => Promise<BrokerOrder>;
  trades: (account: string) => Promise<T[]>;
  orderIdOf: (trade: T) => string;
  /** The emitted-set key of a trade; the push path (push-feed.ts) must use the same one. */
  fillKey: (account: string, trade: T) => string;
  toFill: (trade: T, clientOrderId: string) => BrokerFill;
}

/** Where reconciliation reports: the adapter's emitter and its record of what was emitted. */
export interface FeedSink {
  emit: (e: BrokerEvent) => void;
  emitted: Set<string>;
}

const ENDED = new Set(['CANCELED', 'REJECTED', 'EXPIRED']);

/**
 * One polling pass over one account (the `pollAccount` every book-and-trade-book adapter had): read the
 * order book, and if any order is ours, the trade book; emit each trade of ours not emitted before as a
 * fill, and each of our orders that ended (cancelled, rejected, expired) once. The record is cleared past
 * 200,000 keys (the books reset daily; a replay is harmless, fills being idempotent downstream).
 */
export async function reconcileAccount<O, T>(sink: FeedSink, account: string, books: AccountBooks<O, T>): Promise<void> {
  const ours = new Map<string, BrokerOrder>();
  for (const row of await books.orders(account)) {
    const o = await books.toOrder(account, row);
    if (o.clientOrderId) ours.set(o.brokerOrderId, o);
  }
  if (ours.size === 0) return;
  for (const t of await books.trades(account)) {
    const o = ours.get(books.orderIdOf(t));
    const key = books.fillKey(account, t);
    if (!o || sink.emitted.has(key)) continue;
    sink.emitted.add(key);
    sink.emit({ kind: 'fill', account, fill: books.toFill(t, o.clientOrderId) });
  }
  for (const o of ours.values()) {
    const key = `${account}|end|${o.brokerOrderId}|${o.status}`;
    if (!ENDED.has(o.status) || sink.emitted.has(key)) continue;
    sink.emitted.add(key);
    sink.emit({ kind: 'order', account, order: o });
  }
  if (sink.emitted.size > 200_000) sink.emitted.clear();
}

/**
 * Read a broker's reply; a token error (BrokerAuthError) first makes the connection EXPIRED (with this
 * reason), so nothing more is sent until the user reconnects, then propagates.
 */
export async function expireOnAuthError<T>(sessions: BrokerSessions, account: string, reason: string, read: () => T): Promise<T> {
  try {
    return read();
  } catch (err) {
    if (err instanceof BrokerAuthError) await sessions.expire(account, reason);
    throw err;
  }
}
