import { EventEmitter } from 'node:events';
import type { Logger } from '../../lib/logger.js';
import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.js';
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
import { PushedAccountFeed, type PushFeedSink } from '../connections/push-feed.js';
import type { OrderSocketSet } from '../connections/order-socket.js';
import { AngelOneConnector } from './auth.js';
import { angelOrderSocket } from './order-socket.js';
import { ORDER, fromAngelSymbol, headers, num, placeOrderRequest, toBrokerFill, toBrokerOrder, unwrap, type AngelOrderRow, type AngelTradeRow } from './wire.js';
import { acceptedOrder } from '../connections/accepted-order.js';
import { reduceByModify } from '../connections/reduce-by-modify.js';

/** Documented SmartAPI limits: place/modify/cancel 20/s, 500/min, 1,000/hr; books, positions, holdings 1/s; quotes 10/s. */
export const ANGEL_BUDGETS: Record<'orders' | 'books' | 'quote', RateLimit[]> = {
  orders: [
    { limit: 20, windowMs: 1_000 },
    { limit: 500, windowMs: 60_000 },
    { limit: 1_000, windowMs: 3_600_000 },
  ],
  books: [{ limit: 1, windowMs: 1_000 }],
  quote: [{ limit: 10, windowMs: 1_000 }],
};

export interface AngelOneAdapterOptions {
  baseUrl: string;
  /** DELIVERY (the default), INTRADAY, CARRYFORWARD, MARGIN. */
  product?: string;
  /** The order status socket (`wss://tns.angelone.in/smart-order-update`); without it, fills come by polling only. */
  wsUrl?: string;
  /** First reconnect delay of the order socket (doubles per failure). */
  streamBackoffMs?: number;
  sessions: BrokerSessions;
  refs: OrderRefs;
  /** Angel symbol tokens (`symboltoken`, required on every order) from the imported scrip master. */
  instruments: BrokerInstruments;
  limiter: RateLimiter;
  logger: Logger;
  /** Override the documented budgets (tests against a local fake only). */
  budgets?: typeof ANGEL_BUDGETS;
}

/** Angel One SmartAPI. `account` is a broker connection id. Fills by the order socket, polling and the order loop's sync. */
export class AngelOneAdapter implements ConnectableBroker {
  readonly name = 'angelone';
  readonly rateLimit = { limit: 20, windowMs: 1_000 };
  readonly connector: AngelOneConnector;
  private readonly http: WireHttp;
  private readonly throttle: AccountThrottle<'orders' | 'books' | 'quote'>;
  private readonly events = new EventEmitter();
  private readonly clientIds = new Map<string, string>();
  private readonly emitted = new Set<string>();
  private readonly feed: PushedAccountFeed;
  /** Order updates over the order status socket, one per active connection (opened by the poller). */
  readonly stream: OrderSocketSet | undefined;
  private readonly sink: PushFeedSink;

  constructor(private readonly opts: AngelOneAdapterOptions) {
    this.feed = new PushedAccountFeed({
      sessions: opts.sessions,
      broker: this.name,
      sink: {
        label: 'Angel One',
        logger: opts.logger,
        fills: (a, id) => this.getFills(a, id),
        emit: (e) => this.events.emit('event', e),
        emitted: this.emitted,
        fillKey: (a, f) => `${a}|fill|${f.brokerOrderId}|${f.brokerFillId}`,
      },
      pollAccount: (id) => this.pollAccount(id),
      socket: (push) =>
        opts.wsUrl
          ? angelOrderSocket({
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
    this.http = new WireHttp({ broker: 'Angel One', baseUrl: opts.baseUrl });
    this.throttle = new AccountThrottle({ broker: this.name, limiter: opts.limiter, budgets: opts.budgets ?? ANGEL_BUDGETS, maxWaitMs: 3_000 });
    this.connector = new AngelOneConnector({ http: this.http });
  }

  private async call<T>(account: string, cls: 'orders' | 'books' | 'quote', req: WireRequest, what: string): Promise<T> {
    const c = await this.opts.sessions.open(account);
    await this.throttle.take(account, cls);
    const res = await this.http.send({ ...req, headers: { ...req.headers, ...headers(c.app.apiKey ?? '', c.session.accessToken) } });
    return expireOnAuthError(this.opts.sessions, account, 'Angel One refused the session token', () => unwrap<T>(res, what));
  }

  private async order(account: string, o: AngelOrderRow): Promise<BrokerOrder> {
    const key = `${account}|${o.orderid}`;
    let id = this.clientIds.get(key) ?? null;
    if (!id && o.ordertag) id = await this.opts.refs.clientOrderIdOf(this.name, account, o.ordertag);
    if (id) this.clientIds.set(key, id);
    return toBrokerOrder(o, id ?? '');
  }

  private async rows(account: string): Promise<AngelOrderRow[]> {
    return (await this.call<AngelOrderRow[] | null>(account, 'books', { method: 'GET', path: `${ORDER}/getOrderBook` }, 'order book')) ?? [];
  }

  private async token(exchange: string, symbol: string): Promise<string> {
    const t = await this.opts.instruments.tokenOf(this.name, exchange, symbol);
    if (!t) throw new BrokerRejectedError(`${exchange}:${symbol} has no Angel One symbol token; import the Angel One scrip master`);
    return t;
  }

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    const tag = brokerRef(req.clientOrderId);
    const wire = placeOrderRequest(req, await this.token(req.instrument.exchange, req.instrument.symbol), tag, this.opts.product ?? 'DELIVERY');
    if (!(await this.opts.refs.remember(this.name, req.account, tag, req.clientOrderId))) {
      const existing = await this.findByTag(req.account, tag);
      if (existing) return existing;
    }
    const data = await this.call<{ orderid: string; uniqueorderid?: string }>(req.account, 'orders', wire, 'place order');
    this.clientIds.set(`${req.account}|${data.orderid}`, req.clientOrderId);
    return acceptedOrder(req, String(data.orderid));
  }

  /** POST modifyOrder: SmartAPI wants the whole order again with the changes. */
  async modifyOrder(account: string, brokerOrderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string }): Promise<BrokerOrder> {
    const row = (await this.rows(account)).find((o) => String(o.orderid) === brokerOrderId);
    if (!row) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Angel One`);
    await this.call(
      account,
      'orders',
      {
        method: 'POST',
        path: `${ORDER}/modifyOrder`,
        json: {
          variety: row.variety ?? 'NORMAL',
          orderid: brokerOrderId,
          ordertype: row.ordertype,
          producttype: this.opts.product ?? 'DELIVERY',
          duration: 'DAY',
          // Unchanged prices are sent as they are: modifyOrder takes the whole order, and a 0 would clear a limit.
          price: change.limitPrice ? fmt(change.limitPrice) : fmt(String(row.price ?? 0)),
          triggerprice: change.stopPrice ? fmt(change.stopPrice) : fmt(String(row.triggerprice ?? 0)),
          quantity: change.quantity ? fmt(change.quantity) : String(row.quantity),
          tradingsymbol: row.tradingsymbol,
          symboltoken: row.symboltoken,
          exchange: row.exchange,
        },
      },
      'modify order',
    );
    return (await this.getOrder(account, { brokerOrderId }))!;
  }

  /** BrokerAdapter.reduceOrder: modifyOrder with the new total quantity, prices kept (see reduce-by-modify.ts). */
  reduceOrder(account: string, brokerOrderId: string, quantity: string): Promise<BrokerOrder> {
    return reduceByModify(this, account, brokerOrderId, quantity);
  }

  async cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const row = (await this.rows(account)).find((o) => String(o.orderid) === brokerOrderId);
    if (!row) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Angel One`);
    const current = await this.order(account, row);
    if (current.status !== 'OPEN' && current.status !== 'PARTIALLY_FILLED') throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be cancelled`);
    await this.call(account, 'orders', { method: 'POST', path: `${ORDER}/cancelOrder`, json: { variety: row.variety ?? 'NORMAL', orderid: brokerOrderId } }, 'cancel order');
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  async getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    if ('clientOrderId' in ref) return this.findByTag(account, brokerRef(ref.clientOrderId));
    const row = (await this.rows(account)).find((o) => String(o.orderid) === ref.brokerOrderId);
    return row ? this.order(account, row) : null;
  }

  private async findByTag(account: string, tag: string): Promise<BrokerOrder | null> {
    const row = (await this.rows(account)).filter((o) => o.ordertag === tag).at(-1);
    return row ? this.order(account, row) : null;
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    return Promise.all((await this.rows(account)).map((o) => this.order(account, o)));
  }

  private async trades(account: string): Promise<AngelTradeRow[]> {
    return (await this.call<AngelTradeRow[] | null>(account, 'books', { method: 'GET', path: `${ORDER}/getTradeBook` }, 'trade book')) ?? [];
  }

  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const trades = (await this.trades(account)).filter((t) => String(t.orderid) === brokerOrderId);
    let id = this.clientIds.get(`${account}|${brokerOrderId}`);
    if (!id && trades.length) id = (await this.getOrder(account, { brokerOrderId }))?.clientOrderId;
    return trades.map((t) => toBrokerFill(t, id ?? ''));
  }

  async getPositions(account: string): Promise<BrokerPosition[]> {
    type P = { tradingsymbol: string; exchange: string; netqty?: string; avgnetprice?: string; buyavgprice?: string };
    type H = { tradingsymbol: string; exchange: string; quantity?: number | string; t1quantity?: number | string; averageprice?: number | string };
    const positions = (await this.call<P[] | null>(account, 'books', { method: 'GET', path: `${ORDER}/getPosition` }, 'positions')) ?? [];
    const holdings = (await this.call<H[] | null>(account, 'books', { method: 'GET', path: '/rest/secure/angelbroking/portfolio/v1/getHolding' }, 'holdings')) ?? [];
    const merged = new Map<string, { symbol: string; exchange: string; qty: ReturnType<typeof dec>; cost: ReturnType<typeof dec> }>();
    const add = (sym: string, ex: string, qty: string, avg: string) => {
      const symbol = fromAngelSymbol(sym);
      const m = merged.get(`${ex}:${symbol}`) ?? { symbol, exchange: ex, qty: ZERO, cost: ZERO };
      m.qty = m.qty.plus(qty);
      m.cost = m.cost.plus(dec(qty).mul(avg));
      merged.set(`${ex}:${symbol}`, m);
    };
    for (const h of holdings) add(h.tradingsymbol, h.exchange, fmt(dec(num(h.quantity)).plus(num(h.t1quantity))), num(h.averageprice));
    for (const p of positions) add(p.tradingsymbol, p.exchange, num(p.netqty), num(p.avgnetprice ?? p.buyavgprice));
    return [...merged.values()].filter((m) => !m.qty.isZero()).map((m) => ({ symbol: m.symbol, exchange: m.exchange, quantity: fmt(m.qty), averagePrice: fmt(m.cost.div(m.qty).toDecimalPlaces(4)) }));
  }

  async getFunds(account: string): Promise<BrokerFunds> {
    const r = await this.call<{ net?: string; availablecash?: string }>(account, 'books', { method: 'GET', path: '/rest/secure/angelbroking/user/v1/getRMS' }, 'funds');
    return { currency: 'INR', cash: num(r.availablecash), available: num(r.net ?? r.availablecash) };
  }

  async getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]> {
    const [conn] = await this.opts.sessions.active(this.name);
    if (!conn) throw new BrokerAuthError('no active Angel One connection to quote through');
    const tokens = await Promise.all(instruments.map((i) => this.token(i.exchange, i.symbol)));
    const exchangeTokens: Record<string, string[]> = {};
    instruments.forEach((i, k) => (exchangeTokens[i.exchange] ??= []).push(tokens[k]));
    type Q = { exchange: string; symbolToken: string; ltp: number; depth?: { buy?: Array<{ price: number }>; sell?: Array<{ price: number }> } };
    const data = await this.call<{ fetched?: Q[] }>(conn.connectionId, 'quote', { method: 'POST', path: '/rest/secure/angelbroking/market/v1/quote', json: { mode: 'FULL', exchangeTokens } }, 'quote');
    return instruments.flatMap((i, k) => {
      const q = data.fetched?.find((f) => f.symbolToken === tokens[k] && f.exchange === i.exchange);
      if (!q) return [];
      const bid = q.depth?.buy?.[0]?.price;
      const ask = q.depth?.sell?.[0]?.price;
      return [{ symbol: i.symbol, exchange: i.exchange, bid: bid ? num(bid) : null, ask: ask ? num(ask) : null, last: num(q.ltp), timestamp: new Date().toISOString() }];
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
      orders: (a) => this.rows(a),
      toOrder: (a, r) => this.order(a, r),
      trades: (a) => this.trades(a),
      orderIdOf: (t) => String(t.orderid),
      fillKey: (a, t) => `${a}|fill|${t.orderid}|${t.fillid}`,
      toFill: toBrokerFill,
    });
  }

  async close(): Promise<void> {
    this.feed.close();
    this.events.removeAllListeners();
  }
}
