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
  type BrokerOrderType,
  type BrokerPosition,
  type BrokerQuote,
} from '../broker.js';
import type { ConnectableBroker } from '../connections/connector.js';
import type { BrokerInstruments, BrokerSessions, OrderRefs } from '../connections/sessions.js';
import { WireHttp, type WireRequest } from '../connections/wire-http.js';
import { AccountThrottle } from '../connections/throttle.js';
import { expireOnAuthError, reconcileAccount } from '../connections/account-feed.js';
import { brokerRef } from '../connections/order-ref.js';
import { PushedAccountFeed, type PushFeedSink } from '../connections/push-feed.js';
import type { OrderSocketSet } from '../connections/order-socket.js';
import { FyersConnector } from './auth.js';
import { fyersOrderSocket } from './order-socket.js';
import { authHeader, fromFyersSymbol, fyersSymbol, num, placeOrderRequest, toBrokerFill, toBrokerOrder, unwrap, type FyersOrderRow, type FyersTradeRow } from './wire.js';
import { acceptedOrder } from '../connections/accepted-order.js';
import { reduceByModify } from '../connections/reduce-by-modify.js';

export interface FyersAdapterOptions {
  baseUrl: string;
  loginUrl: string;
  /** CNC (delivery, the default), INTRADAY, MARGIN, MTF. */
  product?: string;
  /** The order socket (`wss://socket.fyers.in/trade/v3`); without it, fills come by polling only. */
  wsUrl?: string;
  /** First reconnect delay of the order socket (doubles per failure). */
  streamBackoffMs?: number;
  sessions: BrokerSessions;
  refs: OrderRefs;
  instruments: BrokerInstruments;
  limiter: RateLimiter;
  logger: Logger;
}

/**
 * Fyers: 10/s, 200/min, 100,000/day over ALL calls of a user. Three minute-limit breaches block the user
 * for the day, so the budget here is the whole contract: a call that would exceed the minute waits or
 * fails with BrokerRateLimitedError; Fyers never sees it.
 */
const BUDGETS = {
  all: [
    { limit: 10, windowMs: 1_000 },
    { limit: 200, windowMs: 60_000 },
    { limit: 100_000, windowMs: 86_400_000 },
  ],
};

/** Fyers API v3. `account` is a broker connection id. Fills by the order socket, polling and the order loop's sync. */
export class FyersAdapter implements ConnectableBroker {
  readonly name = 'fyers';
  readonly rateLimit = { limit: 10, windowMs: 1_000 };
  readonly connector: FyersConnector;
  private readonly http: WireHttp;
  private readonly throttle: AccountThrottle<'all'>;
  private readonly events = new EventEmitter();
  private readonly clientIds = new Map<string, string>();
  private readonly emitted = new Set<string>();
  private readonly feed: PushedAccountFeed;
  /** Order updates over the Fyers order socket, one per active connection (opened by the poller). */
  readonly stream: OrderSocketSet | undefined;
  private readonly sink: PushFeedSink;

  constructor(private readonly opts: FyersAdapterOptions) {
    this.feed = new PushedAccountFeed({
      sessions: opts.sessions,
      broker: this.name,
      sink: { label: 'Fyers', logger: opts.logger, fills: (a, id) => this.getFills(a, id), emit: (e) => this.events.emit('event', e), emitted: this.emitted },
      pollAccount: (id) => this.pollAccount(id),
      socket: (push) =>
        opts.wsUrl
          ? fyersOrderSocket({
              wsUrl: opts.wsUrl,
              sessions: opts.sessions,
              logger: opts.logger,
              minBackoffMs: opts.streamBackoffMs,
              onOrder: (account, row) => push(account, () => this.order(account, row)),
            })
          : undefined,
    });
    this.sink = this.feed.sink;
    this.stream = this.feed.stream;
    this.http = new WireHttp({ broker: 'Fyers', baseUrl: opts.baseUrl });
    this.throttle = new AccountThrottle({ broker: this.name, limiter: opts.limiter, budgets: BUDGETS });
    this.connector = new FyersConnector({ http: this.http, loginUrl: opts.loginUrl });
  }

  private async call<T>(account: string, req: WireRequest, what: string): Promise<T> {
    const c = await this.opts.sessions.open(account);
    await this.throttle.take(account, 'all');
    const res = await this.http.send({ ...req, headers: { ...req.headers, ...authHeader(c.app.appId ?? '', c.session.accessToken) } });
    return expireOnAuthError(this.opts.sessions, account, 'Fyers refused the access token', () => unwrap<T>(res, what));
  }

  private async order(account: string, o: FyersOrderRow): Promise<BrokerOrder> {
    const key = `${account}|${o.id}`;
    let id = this.clientIds.get(key) ?? null;
    if (!id && o.orderTag) id = await this.opts.refs.clientOrderIdOf(this.name, account, o.orderTag);
    if (id) this.clientIds.set(key, id);
    return toBrokerOrder(o, id ?? '');
  }

  private async symbol(exchange: string, symbol: string): Promise<string> {
    return (await this.opts.instruments.tokenOf(this.name, exchange, symbol)) ?? fyersSymbol(exchange, symbol);
  }

  private async book(account: string, id?: string): Promise<FyersOrderRow[]> {
    const r = await this.call<{ orderBook?: FyersOrderRow[] }>(account, { method: 'GET', path: '/api/v3/orders', query: id ? { id } : undefined }, 'order book');
    return r.orderBook ?? [];
  }

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    const tag = brokerRef(req.clientOrderId);
    const wire = placeOrderRequest(req, await this.symbol(req.instrument.exchange, req.instrument.symbol), tag, this.opts.product ?? 'CNC');
    if (!(await this.opts.refs.remember(this.name, req.account, tag, req.clientOrderId))) {
      const existing = await this.findByTag(req.account, tag);
      if (existing) return existing;
    }
    const r = await this.call<{ id: string }>(req.account, wire, 'place order');
    this.clientIds.set(`${req.account}|${r.id}`, req.clientOrderId);
    return acceptedOrder(req, String(r.id));
  }

  /** PATCH /api/v3/orders/sync with {id, qty, type, limitPrice, stopPrice}. */
  async modifyOrder(account: string, brokerOrderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string; type?: BrokerOrderType }): Promise<BrokerOrder> {
    const types = { LIMIT: 1, MARKET: 2, STOP: 3, STOP_LIMIT: 4 } as const;
    const json: Record<string, unknown> = { id: brokerOrderId };
    if (change.quantity) json.qty = Number(change.quantity);
    if (change.type) json.type = types[change.type];
    if (change.limitPrice) json.limitPrice = Number(change.limitPrice);
    if (change.stopPrice) json.stopPrice = Number(change.stopPrice);
    await this.call(account, { method: 'PATCH', path: '/api/v3/orders/sync', json }, 'modify order');
    const o = await this.getOrder(account, { brokerOrderId });
    if (!o) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Fyers`);
    return o;
  }

  /** BrokerAdapter.reduceOrder: a quantity-only modify of the order in place (see reduce-by-modify.ts). */
  reduceOrder(account: string, brokerOrderId: string, quantity: string): Promise<BrokerOrder> {
    return reduceByModify(this, account, brokerOrderId, quantity);
  }

  async cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const current = await this.getOrder(account, { brokerOrderId });
    if (!current) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Fyers`);
    if (current.status !== 'OPEN' && current.status !== 'PARTIALLY_FILLED') throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be cancelled`);
    await this.call(account, { method: 'DELETE', path: '/api/v3/orders/sync', json: { id: brokerOrderId } }, 'cancel order');
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  async getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    if ('clientOrderId' in ref) return this.findByTag(account, brokerRef(ref.clientOrderId));
    try {
      const [o] = await this.book(account, ref.brokerOrderId);
      return o && String(o.id) === ref.brokerOrderId ? this.order(account, o) : null;
    } catch (err) {
      if (err instanceof BrokerRejectedError) return null; // -51: invalid order id
      throw err;
    }
  }

  private async findByTag(account: string, tag: string): Promise<BrokerOrder | null> {
    const last = (await this.book(account)).filter((o) => o.orderTag === tag).at(-1);
    return last ? this.order(account, last) : null;
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    return Promise.all((await this.book(account)).map((o) => this.order(account, o)));
  }

  private async tradebook(account: string): Promise<FyersTradeRow[]> {
    return (await this.call<{ tradeBook?: FyersTradeRow[] }>(account, { method: 'GET', path: '/api/v3/tradebook' }, 'trade book')).tradeBook ?? [];
  }

  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const trades = (await this.tradebook(account)).filter((t) => String(t.orderNumber) === brokerOrderId);
    let id = this.clientIds.get(`${account}|${brokerOrderId}`);
    if (!id && trades.length) id = (await this.getOrder(account, { brokerOrderId }))?.clientOrderId;
    return trades.map((t) => toBrokerFill(t, id ?? ''));
  }

  async getPositions(account: string): Promise<BrokerPosition[]> {
    const [p, h] = await Promise.all([
      this.call<{ netPositions?: Array<{ symbol: string; netQty: number; avgPrice: number }> }>(account, { method: 'GET', path: '/api/v3/positions' }, 'positions'),
      this.call<{ holdings?: Array<{ symbol: string; quantity: number; costPrice: number }> }>(account, { method: 'GET', path: '/api/v3/holdings' }, 'holdings'),
    ]);
    const merged = new Map<string, { qty: ReturnType<typeof dec>; cost: ReturnType<typeof dec> }>();
    const add = (sym: string, qty: string, avg: string) => {
      const m = merged.get(sym) ?? { qty: ZERO, cost: ZERO };
      m.qty = m.qty.plus(qty);
      m.cost = m.cost.plus(dec(qty).mul(avg));
      merged.set(sym, m);
    };
    for (const x of h.holdings ?? []) add(x.symbol, num(x.quantity), num(x.costPrice));
    for (const x of p.netPositions ?? []) add(x.symbol, num(x.netQty), num(x.avgPrice));
    return [...merged.entries()].filter(([, m]) => !m.qty.isZero()).map(([s, m]) => ({ ...fromFyersSymbol(s), quantity: fmt(m.qty), averagePrice: fmt(m.cost.div(m.qty).toDecimalPlaces(4)) }));
  }

  async getFunds(account: string): Promise<BrokerFunds> {
    const r = await this.call<{ fund_limit?: Array<{ id: number; title: string; equityAmount: number }> }>(account, { method: 'GET', path: '/api/v3/funds' }, 'funds');
    const find = (title: string) => r.fund_limit?.find((f) => f.title.toLowerCase() === title);
    const available = num(find('available balance')?.equityAmount);
    return { currency: 'INR', cash: available, available };
  }

  async getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]> {
    const [conn] = await this.opts.sessions.active(this.name);
    if (!conn) throw new BrokerAuthError('no active Fyers connection to quote through');
    const syms = await Promise.all(instruments.map((i) => this.symbol(i.exchange, i.symbol)));
    const r = await this.call<{ d?: Array<{ n: string; v: { lp: number; bid?: number; ask?: number } }> }>(conn.connectionId, { method: 'GET', path: '/data/quotes', query: { symbols: syms.join(',') } }, 'quotes');
    return instruments.flatMap((i, k) => {
      const q = r.d?.find((x) => x.n === syms[k]);
      if (!q) return [];
      return [{ symbol: i.symbol, exchange: i.exchange, bid: q.v.bid ? num(q.v.bid) : null, ask: q.v.ask ? num(q.v.ask) : null, last: num(q.v.lp), timestamp: new Date().toISOString() }];
    });
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  startPolling(intervalMs: number): void {
    this.feed.start(intervalMs);
  }

  poll(): Promise<void> {
    return this.feed.poll();
  }

  private pollAccount(account: string): Promise<void> {
    return reconcileAccount(this.sink, account, {
      orders: (a) => this.book(a),
      toOrder: (a, r) => this.order(a, r),
      trades: (a) => this.tradebook(a),
      orderIdOf: (t) => String(t.orderNumber),
      fillKey: (a, t) => `${a}|fill|${t.tradeNumber}`,
      toFill: toBrokerFill,
    });
  }

  async close(): Promise<void> {
    this.feed.close();
    this.events.removeAllListeners();
  }
}
