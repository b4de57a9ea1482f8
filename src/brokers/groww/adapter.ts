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
import type { BrokerSessions, OrderRefs } from '../connections/sessions.js';
import { WireHttp, type WireRequest } from '../connections/wire-http.js';
import { AccountThrottle } from '../connections/throttle.js';
import { expireOnAuthError } from '../connections/account-feed.js';
import { AccountPoller } from '../connections/account-poller.js';
import { brokerRef } from '../connections/order-ref.js';
import { GrowwConnector } from './auth.js';
import { DuplicateReferenceError, growwHeaders, num, placeOrderRequest, toBrokerFill, toBrokerOrder, unwrap, type GrowwOrderRow, type GrowwTradeRow } from './wire.js';
import { acceptedOrder } from '../connections/accepted-order.js';

export interface GrowwAdapterOptions {
  baseUrl: string;
  product?: string;
  sessions: BrokerSessions;
  refs: OrderRefs;
  limiter: RateLimiter;
  logger: Logger;
  /** Groww publishes no limits: orders per second (BROKER_GROWW_ORDERS_PER_SECOND, default 5). */
  ordersPerSecond?: number;
}

/**
 * Groww Trade API. `account` is a broker connection id. Groww documents no push channel for orders, so
 * fills come from polling the order list (and each changed order's trades) and from the order loop's
 * sync. `order_reference_id` (8–20 alphanumerics) is our client order id's ref and Groww's idempotency key.
 */
export class GrowwAdapter implements ConnectableBroker {
  readonly name = 'groww';
  readonly rateLimit: RateLimit;
  readonly connector: GrowwConnector;
  private readonly http: WireHttp;
  private readonly throttle: AccountThrottle<'orders' | 'other'>;
  private readonly events = new EventEmitter();
  private readonly clientIds = new Map<string, string>();
  private readonly emitted = new Set<string>();
  private readonly seenFilled = new Map<string, string>();
  private readonly poller: AccountPoller;

  constructor(private readonly opts: GrowwAdapterOptions) {
    this.poller = new AccountPoller({
      label: 'Groww',
      logger: opts.logger,
      accounts: () => opts.sessions.active(this.name),
      pollAccount: (id) => this.pollAccount(id),
    });
    const perSecond = opts.ordersPerSecond ?? 5;
    this.rateLimit = { limit: perSecond, windowMs: 1_000 };
    this.http = new WireHttp({ broker: 'Groww', baseUrl: opts.baseUrl });
    this.throttle = new AccountThrottle({
      broker: this.name,
      limiter: opts.limiter,
      // Conservative: the orders rate, at most 60% of it sustained per minute; reads at 10/s.
      budgets: { orders: [{ limit: perSecond, windowMs: 1_000 }, { limit: Math.max(1, Math.floor(perSecond * 36)), windowMs: 60_000 }], other: [{ limit: 10, windowMs: 1_000 }] },
    });
    this.connector = new GrowwConnector({ http: this.http, now: () => new Date() });
  }

  private async call<T>(account: string, cls: 'orders' | 'other', req: WireRequest, what: string): Promise<T> {
    const c = await this.opts.sessions.open(account);
    await this.throttle.take(account, cls);
    const res = await this.http.send({ ...req, headers: { ...req.headers, ...growwHeaders(c.session.accessToken) } });
    return expireOnAuthError(this.opts.sessions, account, 'Groww refused the access token', () => unwrap<T>(res, what));
  }

  private async order(account: string, o: GrowwOrderRow): Promise<BrokerOrder> {
    const key = `${account}|${o.groww_order_id}`;
    let id = this.clientIds.get(key) ?? null;
    if (!id && o.order_reference_id) id = await this.opts.refs.clientOrderIdOf(this.name, account, o.order_reference_id);
    if (id) this.clientIds.set(key, id);
    return toBrokerOrder(o, id ?? '');
  }

  private async list(account: string): Promise<GrowwOrderRow[]> {
    const p = await this.call<{ order_list?: GrowwOrderRow[] }>(account, 'other', { method: 'GET', path: '/v1/order/list', query: { segment: 'CASH', page: '0', page_size: '100' } }, 'order list');
    return p.order_list ?? [];
  }

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    const ref = brokerRef(req.clientOrderId);
    const wire = placeOrderRequest(req, ref, this.opts.product ?? 'CNC');
    await this.opts.refs.remember(this.name, req.account, ref, req.clientOrderId);
    try {
      const p = await this.call<{ groww_order_id: string; order_status: string }>(req.account, 'orders', wire, 'place order');
      this.clientIds.set(`${req.account}|${p.groww_order_id}`, req.clientOrderId);
      return acceptedOrder(req, String(p.groww_order_id), p.order_status === 'REJECTED' || p.order_status === 'FAILED' ? 'REJECTED' : 'OPEN');
    } catch (err) {
      if (!(err instanceof DuplicateReferenceError)) throw err;
      // Groww already has this reference (a retry after a lost acknowledgement): adopt that order.
      const existing = await this.findByRef(req.account, ref);
      if (!existing) throw new BrokerRejectedError('Groww reports a duplicate order reference but has no such order');
      return existing;
    }
  }

  async modifyOrder(account: string, brokerOrderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string }): Promise<BrokerOrder> {
    const current = await this.getOrder(account, { brokerOrderId });
    if (!current) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Groww`);
    const types = { MARKET: 'MARKET', LIMIT: 'LIMIT', STOP: 'SL_M', STOP_LIMIT: 'SL' } as const;
    await this.call(
      account,
      'orders',
      {
        method: 'POST',
        path: '/v1/order/modify',
        json: {
          groww_order_id: brokerOrderId,
          segment: 'CASH',
          quantity: Number(change.quantity ?? current.quantity),
          ...(change.limitPrice ? { price: Number(change.limitPrice) } : {}),
          ...(change.stopPrice ? { trigger_price: Number(change.stopPrice) } : {}),
          order_type: types[current.type],
        },
      },
      'modify order',
    );
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  async cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const current = await this.getOrder(account, { brokerOrderId });
    if (!current) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Groww`);
    if (current.status !== 'OPEN' && current.status !== 'PARTIALLY_FILLED') throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be cancelled`);
    await this.call(account, 'orders', { method: 'POST', path: '/v1/order/cancel', json: { groww_order_id: brokerOrderId, segment: 'CASH' } }, 'cancel order');
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  async getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    if ('clientOrderId' in ref) return this.findByRef(account, brokerRef(ref.clientOrderId));
    try {
      const o = await this.call<GrowwOrderRow>(account, 'other', { method: 'GET', path: `/v1/order/detail/${encodeURIComponent(ref.brokerOrderId)}`, query: { segment: 'CASH' } }, 'order detail');
      return o ? this.order(account, o) : null;
    } catch (err) {
      if (err instanceof BrokerRejectedError) return null;
      throw err;
    }
  }

  private async findByRef(account: string, ref: string): Promise<BrokerOrder | null> {
    const row = (await this.list(account)).filter((o) => o.order_reference_id === ref).at(-1);
    return row ? this.order(account, row) : null;
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    return Promise.all((await this.list(account)).map((o) => this.order(account, o)));
  }

  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const p = await this.call<{ trade_list?: GrowwTradeRow[] }>(account, 'other', { method: 'GET', path: `/v1/order/trades/${encodeURIComponent(brokerOrderId)}`, query: { segment: 'CASH', page: '0', page_size: '50' } }, 'order trades');
    const trades = p.trade_list ?? [];
    let id = this.clientIds.get(`${account}|${brokerOrderId}`);
    if (!id && trades.length) id = (await this.getOrder(account, { brokerOrderId }))?.clientOrderId;
    return trades.map((t) => toBrokerFill(t, brokerOrderId, id ?? ''));
  }

  async getPositions(account: string): Promise<BrokerPosition[]> {
    type Row = { trading_symbol: string; exchange?: string; quantity: number; net_price?: number; average_price?: number };
    const [pos, hold] = await Promise.all([
      this.call<{ positions?: Row[] }>(account, 'other', { method: 'GET', path: '/v1/positions/user', query: { segment: 'CASH' } }, 'positions'),
      this.call<{ holdings?: Row[] }>(account, 'other', { method: 'GET', path: '/v1/holdings/user' }, 'holdings'),
    ]);
    const merged = new Map<string, { symbol: string; exchange: string; qty: ReturnType<typeof dec>; cost: ReturnType<typeof dec> }>();
    for (const r of [...(hold.holdings ?? []), ...(pos.positions ?? [])]) {
      const exchange = r.exchange ?? 'NSE';
      const m = merged.get(`${exchange}:${r.trading_symbol}`) ?? { symbol: r.trading_symbol, exchange, qty: ZERO, cost: ZERO };
      const q = dec(num(r.quantity));
      m.qty = m.qty.plus(q);
      m.cost = m.cost.plus(q.mul(num(r.net_price ?? r.average_price)));
      merged.set(`${exchange}:${r.trading_symbol}`, m);
    }
    return [...merged.values()].filter((m) => !m.qty.isZero()).map((m) => ({ symbol: m.symbol, exchange: m.exchange, quantity: fmt(m.qty), averagePrice: fmt(m.cost.div(m.qty).toDecimalPlaces(4)) }));
  }

  async getFunds(account: string): Promise<BrokerFunds> {
    const p = await this.call<{ clear_cash?: number; net_margin_used?: number; equity_margin_details?: { cnc_balance_available?: number } }>(account, 'other', { method: 'GET', path: '/v1/margins/detail/user' }, 'margins');
    const cash = fmt(dec(num(p.clear_cash)).minus(num(p.net_margin_used)));
    return { currency: 'INR', cash, available: p.equity_margin_details?.cnc_balance_available !== undefined ? num(p.equity_margin_details.cnc_balance_available) : cash };
  }

  async getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]> {
    const [conn] = await this.opts.sessions.active(this.name);
    if (!conn) throw new BrokerAuthError('no active Groww connection to quote through');
    const out: BrokerQuote[] = [];
    for (const i of instruments) {
      type Q = { last_price: number; depth?: { buy?: Array<{ price: number }>; sell?: Array<{ price: number }> } };
      const q = await this.call<Q>(conn.connectionId, 'other', { method: 'GET', path: '/v1/live-data/quote', query: { exchange: i.exchange, segment: 'CASH', trading_symbol: i.symbol } }, 'quote');
      const bid = q.depth?.buy?.[0]?.price;
      const ask = q.depth?.sell?.[0]?.price;
      out.push({ symbol: i.symbol, exchange: i.exchange, bid: bid ? num(bid) : null, ask: ask ? num(ask) : null, last: num(q.last_price), timestamp: new Date().toISOString() });
    }
    return out;
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  startPolling(intervalMs: number): void {
    this.poller.start(intervalMs);
  }

  poll(): Promise<void> {
    return this.poller.poll();
  }

  /** The order list, then the trades of each of our orders whose filled quantity moved since last seen. */
  private async pollAccount(account: string): Promise<void> {
    for (const row of await this.list(account)) {
      const o = await this.order(account, row);
      if (!o.clientOrderId) continue;
      const k = `${account}|${o.brokerOrderId}`;
      if (dec(o.filledQuantity).gt(this.seenFilled.get(k) ?? '0')) {
        for (const f of await this.getFills(account, o.brokerOrderId)) {
          const key = `${k}|fill|${f.brokerFillId}`;
          if (this.emitted.has(key)) continue;
          this.emitted.add(key);
          this.events.emit('event', { kind: 'fill', account, fill: f } satisfies BrokerEvent);
        }
        this.seenFilled.set(k, o.filledQuantity);
      }
      const end = `${k}|end|${o.status}`;
      if ((o.status === 'CANCELED' || o.status === 'REJECTED') && !this.emitted.has(end)) {
        this.emitted.add(end);
        this.events.emit('event', { kind: 'order', account, order: o } satisfies BrokerEvent);
      }
    }
    if (this.emitted.size > 200_000) this.emitted.clear();
  }

  async close(): Promise<void> {
    this.poller.stop();
    this.events.removeAllListeners();
  }
}
