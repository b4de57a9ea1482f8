import { EventEmitter } from 'node:events';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { dec, fmt, ZERO } from '../../lib/decimal.js';
import {
  BrokerAuthError,
  BrokerRejectedError,
  type BrokerEvent,
  type BrokerFill,
  type BrokerFunds,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerOrderType,
  type BrokerPosition,
  type BrokerQuote,
} from '../broker.js';
import type { ConnectableBroker } from '../connections/connector.js';
import type { BrokerSessions, OrderRefs } from '../connections/sessions.js';
import { WireHttp, type WireRequest } from '../connections/wire-http.js';
import { AccountThrottle } from '../connections/throttle.js';
import { expireOnAuthError, reconcileAccount } from '../connections/account-feed.js';
import { brokerRef } from '../connections/order-ref.js';
import { PushRejectedError } from '../connections/push.js';
import { applyPushedOrder, type PushFeedSink } from '../connections/push-feed.js';
import { istToIso } from '../connections/expiry.js';
import { KiteConnector } from './auth.js';
import { KiteOrderStream } from './order-stream.js';
import {
  kiteHeaders,
  modifyOrderRequest,
  num,
  placeOrderRequest,
  postbackChecksum,
  toBrokerFill,
  toBrokerOrder,
  unwrap,
  type KiteOrderRow,
  type KiteTradeRow,
} from './wire.js';
import { acceptedOrder } from '../connections/accepted-order.js';
import { reduceByModify } from '../connections/reduce-by-modify.js';

export interface KiteAdapterOptions {
  baseUrl: string;
  loginUrl: string;
  /** Kite's WebSocket (order updates); without it, fills come by postback and polling only. */
  wsUrl?: string;
  /** Kite product for orders: CNC (delivery, the default), MIS, NRML, MTF. */
  product?: string;
  sessions: BrokerSessions;
  refs: OrderRefs;
  limiter: RateLimiter;
  logger: Logger;
  timeoutMs?: number;
}

/** Documented Kite budgets per user: orders 10/s, 400/min, 5,000/day; quotes 1/s; everything else 10/s. */
const BUDGETS = {
  orders: [
    { limit: 10, windowMs: 1_000 },
    { limit: 400, windowMs: 60_000 },
    { limit: 5_000, windowMs: 86_400_000 },
  ],
  quote: [{ limit: 1, windowMs: 1_000 }],
  other: [{ limit: 10, windowMs: 1_000 }],
};
type CallClass = keyof typeof BUDGETS;

/**
 * Zerodha Kite Connect v3. The `account` of every call is a broker connection id: its API key and access
 * token come from {@link BrokerSessions}. Fills come back three ways, all idempotent by Kite's trade id:
 * postbacks (verified by checksum, then synced), polling of the order and trade books, and the sync the
 * order loop runs itself.
 */
export class KiteAdapter implements ConnectableBroker {
  readonly name = 'zerodha';
  readonly rateLimit = { limit: 10, windowMs: 1_000 };
  readonly connector: KiteConnector;
  private readonly http: WireHttp;
  private readonly throttle: AccountThrottle<CallClass>;
  private readonly events = new EventEmitter();
  /** Kite order id → our client order id, learnt from order rows (account-scoped key). */
  private readonly clientIds = new Map<string, string>();
  /** What polling already emitted, so a quiet book does not re-enqueue the same fill every interval. */
  private readonly emitted = new Set<string>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  /** Order updates over Kite's WebSocket, one socket per active connection (opened by the poller). */
  readonly stream: KiteOrderStream | undefined;

  constructor(private readonly opts: KiteAdapterOptions) {
    this.http = new WireHttp({ broker: 'Kite', baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs });
    this.throttle = new AccountThrottle({ broker: this.name, limiter: opts.limiter, budgets: BUDGETS });
    this.connector = new KiteConnector({ http: this.http, loginUrl: opts.loginUrl });
    // An order update pushed over the socket: its new trades become fill events, an ending an order event.
    const sink: PushFeedSink = { label: 'Kite', logger: opts.logger, fills: (a, id) => this.getFills(a, id), emit: (e) => this.emit(e), emitted: this.emitted };
    this.stream = opts.wsUrl
      ? new KiteOrderStream({ wsUrl: opts.wsUrl, sessions: opts.sessions, logger: opts.logger, onOrder: (account, row) => void applyPushedOrder(sink, account, () => this.order(account, row)) })
      : undefined;
  }

  /** One authenticated call: credentials (fail fast if not ACTIVE), budget, request, envelope. */
  private async call<T>(account: string, cls: CallClass, req: WireRequest, what: string): Promise<T> {
    const c = await this.opts.sessions.open(account);
    await this.throttle.take(account, cls);
    const res = await this.http.send({ ...req, headers: { ...req.headers, ...kiteHeaders(c.app.apiKey ?? '', c.session.accessToken) } });
    return expireOnAuthError(this.opts.sessions, account, 'Kite refused the access token (TokenException)', () => unwrap<T>(res, what));
  }

  private async clientIdOf(account: string, o: KiteOrderRow): Promise<string> {
    const key = `${account}|${o.order_id}`;
    const known = this.clientIds.get(key);
    if (known) return known;
    const id = o.tag ? await this.opts.refs.clientOrderIdOf(this.name, account, o.tag) : null;
    if (id) this.clientIds.set(key, id);
    return id ?? '';
  }

  private async order(account: string, o: KiteOrderRow): Promise<BrokerOrder> {
    return toBrokerOrder(o, await this.clientIdOf(account, o));
  }

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    const tag = brokerRef(req.clientOrderId);
    const wire = placeOrderRequest(req, tag, this.opts.product ?? 'CNC');
    const fresh = await this.opts.refs.remember(this.name, req.account, tag, req.clientOrderId);
    if (!fresh) {
      // Sent before (a retry after a lost acknowledgement): Kite does not dedupe tags, so look first.
      const existing = await this.findByTag(req.account, tag);
      if (existing) return existing;
    }
    const data = await this.call<{ order_id: string }>(req.account, 'orders', wire, 'place order');
    const orderId = String(data.order_id);
    this.clientIds.set(`${req.account}|${orderId}`, req.clientOrderId);
    // HTTP 200 means the OMS took the order; its fate comes by postback, polling or sync.
    return acceptedOrder(req, orderId);
  }

  /** Change an open order's quantity, price, trigger or type (PUT /orders/regular/{id}). */
  async modifyOrder(account: string, brokerOrderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string; type?: BrokerOrderType }): Promise<BrokerOrder> {
    await this.call(account, 'orders', modifyOrderRequest(brokerOrderId, change), 'modify order');
    const o = await this.getOrder(account, { brokerOrderId });
    if (!o) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Kite`);
    return o;
  }

  /** BrokerAdapter.reduceOrder: a quantity-only modify of the order in place (see reduce-by-modify.ts). */
  reduceOrder(account: string, brokerOrderId: string, quantity: string): Promise<BrokerOrder> {
    return reduceByModify(this, account, brokerOrderId, quantity);
  }

  async cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const current = await this.getOrder(account, { brokerOrderId });
    if (!current) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Kite`);
    if (current.status !== 'OPEN' && current.status !== 'PARTIALLY_FILLED') throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be cancelled`);
    await this.call(account, 'orders', { method: 'DELETE', path: `/orders/regular/${encodeURIComponent(brokerOrderId)}` }, 'cancel order');
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  async getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    if ('clientOrderId' in ref) return this.findByTag(account, brokerRef(ref.clientOrderId));
    let history: KiteOrderRow[];
    try {
      history = await this.call<KiteOrderRow[]>(account, 'other', { method: 'GET', path: `/orders/${encodeURIComponent(ref.brokerOrderId)}` }, 'order history');
    } catch (err) {
      if (err instanceof BrokerRejectedError) return null; // Kite answers an unknown id with a 4xx
      throw err;
    }
    const last = history?.[history.length - 1];
    return last ? this.order(account, last) : null;
  }

  private async findByTag(account: string, tag: string): Promise<BrokerOrder | null> {
    const rows = await this.call<KiteOrderRow[]>(account, 'other', { method: 'GET', path: '/orders' }, 'orders');
    const mine = rows.filter((o) => o.tag === tag);
    const last = mine[mine.length - 1];
    return last ? this.order(account, last) : null;
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    const rows = await this.call<KiteOrderRow[]>(account, 'other', { method: 'GET', path: '/orders' }, 'orders');
    return Promise.all(rows.map((o) => this.order(account, o)));
  }

  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const trades = await this.call<KiteTradeRow[]>(account, 'other', { method: 'GET', path: `/orders/${encodeURIComponent(brokerOrderId)}/trades` }, 'order trades');
    let clientOrderId = this.clientIds.get(`${account}|${brokerOrderId}`);
    if (!clientOrderId && trades.length) clientOrderId = (await this.getOrder(account, { brokerOrderId }))?.clientOrderId;
    return trades.map((t) => toBrokerFill(t, clientOrderId ?? ''));
  }

  async getPositions(account: string): Promise<BrokerPosition[]> {
    // Delivery buys sit in positions on the trade day and in holdings after; together they are the account.
    const [positions, holdings] = await Promise.all([
      this.call<{ net: Array<{ tradingsymbol: string; exchange: string; quantity: number; average_price: number }> }>(account, 'other', { method: 'GET', path: '/portfolio/positions' }, 'positions'),
      this.call<Array<{ tradingsymbol: string; exchange: string; quantity: number; t1_quantity?: number; average_price: number }>>(account, 'other', { method: 'GET', path: '/portfolio/holdings' }, 'holdings'),
    ]);
    const merged = new Map<string, { symbol: string; exchange: string; qty: ReturnType<typeof dec>; cost: ReturnType<typeof dec> }>();
    const add = (symbol: string, exchange: string, qty: string, avg: string) => {
      const k = `${exchange}:${symbol}`;
      const m = merged.get(k) ?? { symbol, exchange, qty: ZERO, cost: ZERO };
      m.qty = m.qty.plus(qty);
      m.cost = m.cost.plus(dec(qty).mul(avg));
      merged.set(k, m);
    };
    for (const h of holdings ?? []) add(h.tradingsymbol, h.exchange, fmt(dec(num(h.quantity)).plus(num(h.t1_quantity))), num(h.average_price));
    for (const p of positions?.net ?? []) add(p.tradingsymbol, p.exchange, num(p.quantity), num(p.average_price));
    return [...merged.values()]
      .filter((m) => !m.qty.isZero())
      .map((m) => ({ symbol: m.symbol, exchange: m.exchange, quantity: fmt(m.qty), averagePrice: fmt(m.cost.div(m.qty).toDecimalPlaces(4)) }));
  }

  async getFunds(account: string): Promise<BrokerFunds> {
    const eq = await this.call<{ net: number; available: { cash: number; live_balance?: number }; utilised?: { debits?: number } }>(
      account,
      'other',
      { method: 'GET', path: '/user/margins/equity' },
      'margins',
    );
    // live_balance = opening cash − today's debits; net = what can be traded with now.
    const cash = eq.available.live_balance !== undefined ? num(eq.available.live_balance) : fmt(dec(num(eq.available.cash)).minus(num(eq.utilised?.debits)));
    return { currency: 'INR', cash, available: num(eq.net) };
  }

  async getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]> {
    const [conn] = await this.opts.sessions.active(this.name);
    if (!conn) throw new BrokerAuthError('no active Kite connection to quote through');
    const keys = instruments.map((i) => `${i.exchange}:${i.symbol}`);
    type Q = { last_price: number; timestamp?: string; depth?: { buy?: Array<{ price: number }>; sell?: Array<{ price: number }> } };
    const data = await this.call<Record<string, Q>>(conn.connectionId, 'quote', { method: 'GET', path: '/quote', query: { i: keys } }, 'quote');
    return instruments.flatMap((i) => {
      const q = data?.[`${i.exchange}:${i.symbol}`];
      if (!q) return [];
      const bid = q.depth?.buy?.[0]?.price;
      const ask = q.depth?.sell?.[0]?.price;
      return [
        {
          symbol: i.symbol,
          exchange: i.exchange,
          bid: bid ? num(bid) : null,
          ask: ask ? num(ask) : null,
          last: num(q.last_price),
          timestamp: istToIso(q.timestamp) ?? new Date().toISOString(),
        },
      ];
    });
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  private emit(e: BrokerEvent): void {
    this.events.emit('event', e);
  }

  /**
   * A Kite postback (raw JSON, only for orders placed with the app's API key). Verified with
   * SHA-256(order_id + order_timestamp + api_secret) against the connection of that Kite user; anything
   * that does not verify is refused. Returns the order it concerns, for its fills to be synced.
   */
  async handlePush(body: unknown): Promise<BrokerOrder[]> {
    const p = (typeof body === 'object' && body !== null ? body : {}) as KiteOrderRow & { user_id?: string; checksum?: string };
    if (!p.order_id || !p.order_timestamp || typeof p.checksum !== 'string') throw new PushRejectedError('not a Kite postback');
    for (const c of await this.opts.sessions.active(this.name)) {
      if (p.user_id && c.accountId && c.accountId !== p.user_id) continue;
      const open = await this.opts.sessions.open(c.connectionId).catch(() => null);
      if (!open?.app.apiSecret) continue;
      const expected = Buffer.from(postbackChecksum(String(p.order_id), p.order_timestamp, open.app.apiSecret));
      const given = Buffer.from(p.checksum);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) continue;
      const order = await this.order(c.connectionId, p);
      if (!order.clientOrderId) return []; // not one of ours (placed elsewhere with this key)
      this.emit({ kind: 'order', account: c.connectionId, order });
      return [order];
    }
    throw new PushRejectedError('postback checksum does not verify');
  }

  /** Start polling every `intervalMs` (the leader worker runs it; a lost push is found here). */
  startPolling(intervalMs: number): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => void this.poll(), intervalMs);
    this.pollTimer.unref();
  }

  /** One pass over every ACTIVE connection: new trades become fill events, endings order events. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const active = await this.opts.sessions.active(this.name).catch((err: Error) => {
        // The connections could not be listed (the database is away, or closing): the next pass tries
        // again; never a rejection out of the poll timer's callback.
        this.opts.logger.warn({ err: { name: err.name, message: err.message } }, `Kite poll could not list connections`);
        return null;
      });
      if (!active) return;
      await this.stream?.sync(active.map((c) => c.connectionId));
      for (const c of active) {
        try {
          await this.pollAccount(c.connectionId);
        } catch (err) {
          if (!(err instanceof BrokerAuthError)) this.opts.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message }, connectionId: c.connectionId }, 'Kite poll failed');
        }
      }
    } finally {
      this.polling = false;
    }
  }

  private pollAccount(account: string): Promise<void> {
    return reconcileAccount({ emit: (e) => this.emit(e), emitted: this.emitted }, account, {
      orders: (a) => this.call<KiteOrderRow[]>(a, 'other', { method: 'GET', path: '/orders' }, 'orders'),
      toOrder: (a, r) => this.order(a, r),
      trades: (a) => this.call<KiteTradeRow[]>(a, 'other', { method: 'GET', path: '/trades' }, 'trades'),
      orderIdOf: (t) => String(t.order_id),
      fillKey: (a, t) => `${a}|fill|${t.trade_id}`,
      toFill: toBrokerFill,
    });
  }

  async close(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.stream?.close();
    this.events.removeAllListeners();
  }
}
