import { EventEmitter } from 'node:events';
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
  type BrokerPosition,
  type BrokerQuote,
} from '../broker.js';
import type { ConnectableBroker } from '../connections/connector.js';
import type { BrokerInstruments, BrokerSessions, OrderRefs } from '../connections/sessions.js';
import { WireHttp, type WireRequest } from '../connections/wire-http.js';
import { AccountThrottle } from '../connections/throttle.js';
import { expireOnAuthError, reconcileAccount } from '../connections/account-feed.js';
import { brokerRef } from '../connections/order-ref.js';
import { PushRejectedError } from '../connections/push.js';
import { PushedAccountFeed, type PushFeedSink } from '../connections/push-feed.js';
import type { OrderSocketSet } from '../connections/order-socket.js';
import { UpstoxConnector } from './auth.js';
import { upstoxPortfolioStream } from './portfolio-stream.js';
import { headers, num, placeOrderRequest, toBrokerFill, toBrokerOrder, unwrap, type UpstoxOrderRow, type UpstoxTradeRow } from './wire.js';
import { acceptedOrder } from '../connections/accepted-order.js';
import { reduceByModify } from '../connections/reduce-by-modify.js';

export interface UpstoxAdapterOptions {
  baseUrl: string;
  /** The HFT host for /v3/order/* (api-hft.upstox.com in production). */
  orderUrl: string;
  loginUrl: string;
  /** I (intraday), D (delivery, the default) or MTF. */
  product?: string;
  /**
   * Set to enable the portfolio stream feed (order updates over WebSocket). The socket URL itself comes
   * from `/v2/feed/portfolio-stream-feed/authorize` on every connect.
   */
  wsUrl?: string;
  /** First reconnect delay of the stream (doubles per failure). */
  streamBackoffMs?: number;
  sessions: BrokerSessions;
  refs: OrderRefs;
  instruments: BrokerInstruments;
  limiter: RateLimiter;
  logger: Logger;
}

/** Upstox budgets (BROKERS.md §2): order APIs 10/s, 500/min, 2,000/30 min; others 50/s, 500/min, 2,000/30 min. */
const BUDGETS = {
  orders: [
    { limit: 10, windowMs: 1_000 },
    { limit: 500, windowMs: 60_000 },
    { limit: 2_000, windowMs: 1_800_000 },
  ],
  other: [
    { limit: 50, windowMs: 1_000 },
    { limit: 500, windowMs: 60_000 },
    { limit: 2_000, windowMs: 1_800_000 },
  ],
};

/**
 * Upstox (v2 API, v3 order routes). `account` is a broker connection id. Instruments are addressed by
 * Upstox instrument keys from the imported instrument master. Fills: webhook (unauthenticated, so it
 * only triggers a sync through the API), polling, and the order loop's own sync.
 */
export class UpstoxAdapter implements ConnectableBroker {
  readonly name = 'upstox';
  readonly rateLimit = { limit: 10, windowMs: 1_000 };
  readonly connector: UpstoxConnector;
  private readonly http: WireHttp;
  private readonly orderHttp: WireHttp;
  private readonly throttle: AccountThrottle<keyof typeof BUDGETS>;
  private readonly events = new EventEmitter();
  private readonly clientIds = new Map<string, string>();
  private readonly emitted = new Set<string>();
  private readonly feed: PushedAccountFeed;
  /** Order updates over the portfolio stream feed, one socket per active connection (opened by the poller). */
  readonly stream: OrderSocketSet | undefined;
  private readonly sink: PushFeedSink;

  constructor(private readonly opts: UpstoxAdapterOptions) {
    this.feed = new PushedAccountFeed({
      sessions: opts.sessions,
      broker: this.name,
      sink: { label: 'Upstox', logger: opts.logger, fills: (a, id) => this.getFills(a, id), emit: (e) => this.events.emit('event', e), emitted: this.emitted },
      pollAccount: (id) => this.pollAccount(id),
      socket: (push) =>
        opts.wsUrl
          ? upstoxPortfolioStream({
              sessions: opts.sessions,
              logger: opts.logger,
              minBackoffMs: opts.streamBackoffMs,
              authorize: (id) => this.authorizeStream(id),
              onOrder: (account, row) => push(account, () => this.order(account, row)),
            })
          : undefined,
    });
    this.sink = this.feed.sink;
    this.stream = this.feed.stream;
    this.http = new WireHttp({ broker: 'Upstox', baseUrl: opts.baseUrl });
    this.orderHttp = new WireHttp({ broker: 'Upstox', baseUrl: opts.orderUrl });
    this.throttle = new AccountThrottle({ broker: this.name, limiter: opts.limiter, budgets: BUDGETS });
    this.connector = new UpstoxConnector({ http: this.http, loginUrl: opts.loginUrl });
  }

  private async call<T>(account: string, cls: keyof typeof BUDGETS, req: WireRequest, what: string): Promise<T> {
    const c = await this.opts.sessions.open(account);
    await this.throttle.take(account, cls);
    const http = req.path.startsWith('/v3/order') ? this.orderHttp : this.http;
    const res = await http.send({ ...req, headers: { ...req.headers, ...headers(c.session.accessToken) } });
    return expireOnAuthError(this.opts.sessions, account, 'Upstox refused the access token', () => unwrap<T>(res, what));
  }

  /** A single-use socket URI for the portfolio stream feed (order updates only). */
  private async authorizeStream(account: string): Promise<string> {
    type Auth = { authorized_redirect_uri?: string; authorizedRedirectUri?: string };
    const d = await this.call<Auth>(account, 'other', { method: 'GET', path: '/v2/feed/portfolio-stream-feed/authorize', query: { update_types: 'order' } }, 'portfolio stream authorize');
    const uri = d?.authorized_redirect_uri ?? d?.authorizedRedirectUri;
    if (!uri) throw new BrokerRejectedError('Upstox gave no authorized_redirect_uri for the portfolio stream');
    return uri;
  }

  private async order(account: string, o: UpstoxOrderRow): Promise<BrokerOrder> {
    const key = `${account}|${o.order_id}`;
    let id = this.clientIds.get(key) ?? null;
    if (!id && o.tag) id = await this.opts.refs.clientOrderIdOf(this.name, account, o.tag);
    if (id) this.clientIds.set(key, id);
    return toBrokerOrder(o, id ?? '');
  }

  private async token(exchange: string, symbol: string): Promise<string> {
    const t = await this.opts.instruments.tokenOf(this.name, exchange, symbol);
    if (!t) throw new BrokerRejectedError(`${exchange}:${symbol} has no Upstox instrument key; import the Upstox instrument master`);
    return t;
  }

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    const tag = brokerRef(req.clientOrderId);
    const wire = placeOrderRequest(req, await this.token(req.instrument.exchange, req.instrument.symbol), tag, this.opts.product ?? 'D');
    if (!(await this.opts.refs.remember(this.name, req.account, tag, req.clientOrderId))) {
      const existing = await this.findByTag(req.account, tag);
      if (existing) return existing;
    }
    const data = await this.call<{ order_ids?: string[]; order_id?: string }>(req.account, 'orders', wire, 'place order');
    const orderId = String(data.order_ids?.[0] ?? data.order_id);
    this.clientIds.set(`${req.account}|${orderId}`, req.clientOrderId);
    return acceptedOrder(req, orderId);
  }

  /**
   * PUT /v3/order/modify: the order in place (same order id). Upstox requires the price, order type and
   * validity on every modify, and `quantity` is the order's new TOTAL ("quantity with which the order was
   * placed"), so what does not change is sent as the order has it (read from /v2/order/details): a
   * quantity-only change keeps a limit order's price and a stop's trigger.
   */
  async modifyOrder(account: string, brokerOrderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string }): Promise<BrokerOrder> {
    const row = await this.call<UpstoxOrderRow | null>(account, 'other', { method: 'GET', path: '/v2/order/details', query: { order_id: brokerOrderId } }, 'order details');
    if (!row) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Upstox`);
    await this.call(
      account,
      'orders',
      {
        method: 'PUT',
        path: '/v3/order/modify',
        json: {
          order_id: brokerOrderId,
          quantity: Number(change.quantity ?? row.quantity),
          price: Number(change.limitPrice ?? row.price ?? 0),
          order_type: row.order_type,
          validity: row.validity ?? 'DAY',
          trigger_price: Number(change.stopPrice ?? row.trigger_price ?? 0),
          disclosed_quantity: Number(row.disclosed_quantity ?? 0),
        },
      },
      'modify order',
    );
    return (await this.getOrder(account, { brokerOrderId })) ?? this.order(account, row);
  }

  /** BrokerAdapter.reduceOrder: a modify with the new total quantity, everything else as the order has it (see reduce-by-modify.ts). */
  reduceOrder(account: string, brokerOrderId: string, quantity: string): Promise<BrokerOrder> {
    return reduceByModify(this, account, brokerOrderId, quantity);
  }

  async cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const current = await this.getOrder(account, { brokerOrderId });
    if (!current) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Upstox`);
    if (current.status !== 'OPEN' && current.status !== 'PARTIALLY_FILLED') throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be cancelled`);
    await this.call(account, 'orders', { method: 'DELETE', path: '/v3/order/cancel', query: { order_id: brokerOrderId } }, 'cancel order');
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  async getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    if ('clientOrderId' in ref) return this.findByTag(account, brokerRef(ref.clientOrderId));
    try {
      const o = await this.call<UpstoxOrderRow>(account, 'other', { method: 'GET', path: '/v2/order/details', query: { order_id: ref.brokerOrderId } }, 'order details');
      return o ? this.order(account, o) : null;
    } catch (err) {
      if (err instanceof BrokerRejectedError) return null;
      throw err;
    }
  }

  private async findByTag(account: string, tag: string): Promise<BrokerOrder | null> {
    const rows = await this.call<UpstoxOrderRow[]>(account, 'other', { method: 'GET', path: '/v2/order/retrieve-all' }, 'order book');
    const last = rows.filter((o) => o.tag === tag).at(-1);
    return last ? this.order(account, last) : null;
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    const rows = await this.call<UpstoxOrderRow[]>(account, 'other', { method: 'GET', path: '/v2/order/retrieve-all' }, 'order book');
    return Promise.all(rows.map((o) => this.order(account, o)));
  }

  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const trades = await this.call<UpstoxTradeRow[]>(account, 'other', { method: 'GET', path: '/v2/order/trades', query: { order_id: brokerOrderId } }, 'order trades');
    let id = this.clientIds.get(`${account}|${brokerOrderId}`);
    if (!id && trades.length) id = (await this.getOrder(account, { brokerOrderId }))?.clientOrderId;
    return trades.map((t) => toBrokerFill(t, id ?? ''));
  }

  async getPositions(account: string): Promise<BrokerPosition[]> {
    type Row = { tradingsymbol?: string; trading_symbol?: string; exchange: string; quantity: number; t1_quantity?: number; average_price: number };
    const [positions, holdings] = await Promise.all([
      this.call<Row[]>(account, 'other', { method: 'GET', path: '/v2/portfolio/short-term-positions' }, 'positions'),
      this.call<Row[]>(account, 'other', { method: 'GET', path: '/v2/portfolio/long-term-holdings' }, 'holdings'),
    ]);
    const merged = new Map<string, { symbol: string; exchange: string; qty: ReturnType<typeof dec>; cost: ReturnType<typeof dec> }>();
    for (const r of [...(holdings ?? []), ...(positions ?? [])]) {
      const symbol = r.trading_symbol ?? r.tradingsymbol ?? '';
      const qty = dec(num(r.quantity)).plus(num(r.t1_quantity));
      const m = merged.get(`${r.exchange}:${symbol}`) ?? { symbol, exchange: r.exchange, qty: ZERO, cost: ZERO };
      m.qty = m.qty.plus(qty);
      m.cost = m.cost.plus(qty.mul(num(r.average_price)));
      merged.set(`${r.exchange}:${symbol}`, m);
    }
    return [...merged.values()].filter((m) => !m.qty.isZero()).map((m) => ({ symbol: m.symbol, exchange: m.exchange, quantity: fmt(m.qty), averagePrice: fmt(m.cost.div(m.qty).toDecimalPlaces(4)) }));
  }

  async getFunds(account: string): Promise<BrokerFunds> {
    const data = await this.call<{ equity?: { available_margin?: number; used_margin?: number } }>(account, 'other', { method: 'GET', path: '/v2/user/get-funds-and-margin', query: { segment: 'SEC' } }, 'funds');
    const available = num(data.equity?.available_margin);
    return { currency: 'INR', cash: available, available };
  }

  async getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]> {
    const [conn] = await this.opts.sessions.active(this.name);
    if (!conn) throw new BrokerAuthError('no active Upstox connection to quote through');
    const keys = await Promise.all(instruments.map((i) => this.token(i.exchange, i.symbol)));
    type Q = { instrument_token?: string; last_price: number; depth?: { buy?: Array<{ price: number }>; sell?: Array<{ price: number }> } };
    const data = await this.call<Record<string, Q>>(conn.connectionId, 'other', { method: 'GET', path: '/v2/market-quote/quotes', query: { instrument_key: keys.join(',') } }, 'quotes');
    return instruments.flatMap((i, n) => {
      const q = Object.values(data ?? {}).find((x) => x.instrument_token === keys[n]) ?? data?.[`${i.exchange}_EQ:${i.symbol}`];
      if (!q) return [];
      const bid = q.depth?.buy?.[0]?.price;
      const ask = q.depth?.sell?.[0]?.price;
      return [{ symbol: i.symbol, exchange: i.exchange, bid: bid ? num(bid) : null, ask: ask ? num(ask) : null, last: num(q.last_price), timestamp: new Date().toISOString() }];
    });
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  /**
   * An Upstox webhook (order update; the same payload as the portfolio stream). Upstox does not sign
   * webhooks, so the push is only a hint: it names an order of one of our connections, whose state and
   * fills are then read back through the authenticated API.
   */
  async handlePush(body: unknown): Promise<BrokerOrder[]> {
    const p = (typeof body === 'object' && body !== null ? body : {}) as UpstoxOrderRow & { user_id?: string; update_type?: string };
    if (!p.order_id || !p.user_id || (p.update_type && p.update_type !== 'order')) throw new PushRejectedError('not an Upstox order update');
    for (const c of await this.opts.sessions.active(this.name)) {
      if (c.accountId !== p.user_id) continue;
      const order = await this.order(c.connectionId, p);
      return order.clientOrderId ? [order] : [];
    }
    throw new PushRejectedError('no active Upstox connection for that user');
  }

  startPolling(intervalMs: number): void {
    this.feed.start(intervalMs);
  }

  poll(): Promise<void> {
    return this.feed.poll();
  }

  private pollAccount(account: string): Promise<void> {
    return reconcileAccount(this.sink, account, {
      orders: (a) => this.call<UpstoxOrderRow[]>(a, 'other', { method: 'GET', path: '/v2/order/retrieve-all' }, 'order book'),
      toOrder: (a, r) => this.order(a, r),
      trades: (a) => this.call<UpstoxTradeRow[]>(a, 'other', { method: 'GET', path: '/v2/order/trades/get-trades-for-day' }, 'trades'),
      orderIdOf: (t) => String(t.order_id),
      fillKey: (a, t) => `${a}|fill|${t.trade_id}`,
      toFill: toBrokerFill,
    });
  }

  async close(): Promise<void> {
    this.feed.close();
    this.events.removeAllListeners();
  }
}
