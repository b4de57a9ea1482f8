import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { Decimal, dec, fmt } from '../../lib/decimal.js';
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
import { WireHttp } from '../connections/wire-http.js';
import { TradeStationConnector } from './auth.js';
import { FIVE_MIN, TradeStationApi } from './api.js';
import { TradeStationFeed } from './feed.js';
import { FillLedger } from './fill-ledger.js';
import { OrderObserver } from './order-observer.js';
import { OrderOwnership } from './ownership.js';
import {
  num,
  orderFigures,
  placeOrderRequest,
  replaceOrderRequest,
  replyOrderId,
  type TsBalance,
  type TsOrder,
  type TsOrderReply,
  type TsPosition,
} from './wire.js';

export interface TradeStationAdapterOptions {
  /** API base including the version: https://api.tradestation.com/v3 (sim: https://sim-api.tradestation.com/v3). */
  baseUrl: string;
  /** Authorization URL: https://signin.tradestation.com/authorize (the token URL is /oauth/token beside it). */
  loginUrl: string;
  /** Order route (`Route`): Intelligent unless configured (BROKER_TRADESTATION_PRODUCT). */
  route?: string;
  /** Open the order and positions streams of each connection (default true); without them fills come by polling alone and positions by REST. */
  streams?: boolean;
  /** Least time between two order-list polls of one account (the Order Details quota is 250 per 5 minutes). */
  minPollIntervalMs?: number;
  /** A stream that sends nothing (not even a heartbeat) for this long is reopened. */
  streamIdleMs?: number;
  sessions: BrokerSessions;
  refs: OrderRefs;
  limiter: RateLimiter;
  logger: Logger;
  timeoutMs?: number;
}

const LIVE = new Set(['OPEN', 'PARTIALLY_FILLED']);

/**
 * TradeStation API v3. The `account` of every call is a broker connection id; its TradeStation AccountID
 * and access token come from {@link BrokerSessions} (which refreshes the 20-minute token ahead of expiry).
 *
 * Our client order id: v3 orders carry no client order id field. The OrderID is recorded on the
 * acknowledgement (both ways, in the order-ref table: see {@link OrderOwnership}). A retry of an order
 * whose acknowledgement was lost (sent, but no OrderID recorded) first looks for it among the account's
 * orders: the oldest one of today with the same symbol, side, quantity, type, prices and duration that no
 * order of ours has claimed is adopted; only if there is none is the order sent again.
 *
 * Fills: TradeStation reports an order's cumulative FilledQuantity, FilledPrice (average) and
 * CommissionFee, on the order stream and on the order list. Each rise of the filled quantity is one fill
 * (id `<OrderID>@<cumulative quantity>`, price and fee from the rise of notional and commission), found
 * the same way whichever source sees it first, so a replay or a poll after a push is the same fill.
 *
 * The pieces: {@link TradeStationApi} (calls and quotas), {@link OrderObserver} (order states into fills
 * and events) and {@link TradeStationFeed} (streams and polling).
 */
export class TradeStationAdapter implements ConnectableBroker {
  readonly name = 'tradestation';
  readonly rateLimit = { limit: 250, windowMs: FIVE_MIN };
  readonly connector: TradeStationConnector;
  private readonly api: TradeStationApi;
  private readonly ledger = new FillLedger();
  private readonly exchanges = new Map<string, string>();
  private readonly owners: OrderOwnership;
  private readonly observer: OrderObserver;
  private readonly feed: TradeStationFeed;

  constructor(private readonly opts: TradeStationAdapterOptions) {
    this.api = new TradeStationApi(this.name, opts);
    const signin = new WireHttp({ broker: 'TradeStation sign-in', baseUrl: new URL(opts.loginUrl).origin, timeoutMs: opts.timeoutMs });
    this.connector = new TradeStationConnector({ signin, api: this.api.http, loginUrl: opts.loginUrl });
    this.owners = new OrderOwnership(opts.refs, this.name);
    this.observer = new OrderObserver(this.owners, this.ledger, this.exchanges);
    this.feed = new TradeStationFeed(this.name, opts, this.api, this.observer);
  }

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    const wire = placeOrderRequest(req, await this.api.tsAccountOf(req.account), this.opts.route ?? 'Intelligent');
    this.exchanges.set(req.instrument.symbol, req.instrument.exchange);
    const fresh = await this.owners.markSent(req.account, req.clientOrderId);
    if (!fresh) {
      // Sent before: acknowledged (the OrderID is recorded), or the acknowledgement was lost.
      const existing = await this.getOrder(req.account, { clientOrderId: req.clientOrderId });
      if (existing) return existing;
      const adopted = await this.adoptLost(req, wire.json as Record<string, unknown>);
      if (adopted) return adopted;
    }
    const reply = await this.api.call<TsOrderReply>(req.account, 'execution', () => wire, 'place order');
    const orderId = replyOrderId(reply, 'place order');
    await this.observer.claim(req.account, orderId, req.clientOrderId);
    const placed = await this.api.fetchOrder(req.account, orderId);
    if (placed) return this.observer.observe(req.account, placed, req.clientOrderId);
    // Not listed yet: as acknowledged.
    return { brokerOrderId: orderId, clientOrderId: req.clientOrderId, symbol: req.instrument.symbol, exchange: req.instrument.exchange, side: req.side, type: req.type, quantity: fmt(req.quantity), filledQuantity: '0', averagePrice: null, status: 'OPEN', updatedAt: new Date().toISOString() };
  }

  /** A lost acknowledgement: the oldest unclaimed order of today that matches the request exactly. */
  private async adoptLost(req: BrokerOrderRequest, sent: Record<string, unknown>): Promise<BrokerOrder | null> {
    const rows = await this.api.rawOrders(req.account);
    const same = (a: unknown, b: unknown) => (a === undefined || a === null || a === '' ? b === undefined : b !== undefined && dec(String(a)).eq(String(b)));
    const candidates = rows
      .filter((o) => {
        const f = orderFigures(o);
        return f.symbol === req.instrument.symbol && f.side === req.side && dec(f.quantity).eq(req.quantity) && o.OrderType === sent.OrderType && (o.Duration ?? '').startsWith(req.timeInForce) && same(o.LimitPrice, sent.LimitPrice) && same(o.StopPrice, sent.StopPrice);
      })
      .sort((a, b) => Date.parse(a.OpenedDateTime ?? '') - Date.parse(b.OpenedDateTime ?? ''));
    for (const o of candidates) {
      if (await this.observer.oursOf(req.account, o.OrderID)) continue;
      if (await this.observer.claim(req.account, o.OrderID, req.clientOrderId)) {
        this.opts.logger.warn({ connectionId: req.account, orderId: o.OrderID }, 'TradeStation acknowledgement was lost: adopted the matching order');
        return this.observer.observe(req.account, o, req.clientOrderId);
      }
    }
    return null;
  }

  /** Replace a working order (PUT /orderexecution/orders/{id}); the reply names the order that carries on. */
  async replaceOrder(account: string, brokerOrderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string }): Promise<BrokerOrder> {
    const reply = await this.api.call<TsOrderReply>(account, 'execution', () => replaceOrderRequest(brokerOrderId, change), 'replace order');
    const next = replyOrderId(reply, 'replace order');
    const mine = await this.observer.oursOf(account, brokerOrderId);
    if (mine && next !== brokerOrderId) await this.observer.claim(account, next, mine);
    const o = await this.getOrder(account, { brokerOrderId: next });
    if (!o) throw new BrokerRejectedError(`order ${next} not found at TradeStation after the replace`);
    return o;
  }

  async cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const current = await this.getOrder(account, { brokerOrderId });
    if (!current) throw new BrokerRejectedError(`order ${brokerOrderId} not found at TradeStation`);
    if (!LIVE.has(current.status)) throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be cancelled`);
    await this.api.call(account, 'execution', () => ({ method: 'DELETE', path: `/orderexecution/orders/${encodeURIComponent(brokerOrderId)}` }), 'cancel order');
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  async getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    let orderId: string | null;
    if ('clientOrderId' in ref) {
      orderId = await this.owners.orderIdOf(account, ref.clientOrderId);
      if (!orderId) return null;
    } else orderId = ref.brokerOrderId;
    const o = await this.api.fetchOrder(account, orderId);
    if (!o) return null;
    const mine = await this.observer.oursOf(account, o.OrderID);
    return mine ? this.observer.observe(account, o, mine) : this.observer.order(o, '');
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    const rows = await this.api.rawOrders(account);
    const out: BrokerOrder[] = [];
    for (const o of rows) out.push(this.observer.order(o, (await this.observer.oursOf(account, o.OrderID)) ?? ''));
    return out;
  }

  /** The fills of one order, as seen so far (a rise of the filled quantity not seen before is one fill). */
  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const o = await this.api.fetchOrder(account, brokerOrderId);
    if (!o) return [];
    const mine = (await this.observer.oursOf(account, o.OrderID)) ?? '';
    this.observer.observe(account, o, mine);
    return this.ledger.fills(account, o.OrderID).map((f) => ({ ...f, clientOrderId: mine }));
  }

  /**
   * From the connection's positions stream while it is connected and past its snapshot (no quota spent);
   * otherwise by REST (`GET /brokerage/accounts/{id}/positions`, 250 per 5 minutes).
   */
  async getPositions(account: string): Promise<BrokerPosition[]> {
    const streamed = this.feed.positions(account);
    if (streamed) return this.toPositions(streamed);
    const body = await this.api.call<{ Positions?: TsPosition[] }>(account, 'positions', (a) => ({ method: 'GET', path: `/brokerage/accounts/${encodeURIComponent(a)}/positions` }), 'positions');
    return this.toPositions(body?.Positions ?? []);
  }

  private toPositions(rows: TsPosition[]): BrokerPosition[] {
    return rows
      .filter((p) => !dec(num(p.Quantity)).isZero())
      .map((p) => {
        const qty = dec(num(p.Quantity)).abs();
        return { symbol: p.Symbol, exchange: this.exchanges.get(p.Symbol) ?? '', quantity: fmt(p.LongShort === 'Short' ? qty.neg() : qty), averagePrice: num(p.AveragePrice) };
      });
  }

  /** Cash, and what can be spent without margin: the lower of cash and buying power. */
  async getFunds(account: string): Promise<BrokerFunds> {
    const body = await this.api.call<{ Balances?: TsBalance[] }>(account, 'balances', (a) => ({ method: 'GET', path: `/brokerage/accounts/${encodeURIComponent(a)}/balances` }), 'balances');
    const b = body?.Balances?.[0];
    if (!b) throw new BrokerRejectedError('TradeStation returned no balances for the account');
    const cash = num(b.CashBalance);
    return { currency: 'USD', cash, available: fmt(Decimal.max(0, Decimal.min(cash, num(b.BuyingPower ?? b.CashBalance)))) };
  }

  /** Quote snapshots (`GET /marketdata/quotes/{symbols}`), through any active connection. */
  async getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]> {
    const [conn] = await this.opts.sessions.active(this.name);
    if (!conn) throw new BrokerAuthError('no active TradeStation connection to quote through');
    type Q = { Symbol: string; Bid?: string; Ask?: string; Last?: string; TradeTime?: string };
    const symbols = [...new Set(instruments.map((i) => i.symbol))].map(encodeURIComponent).join(',');
    const body = await this.api.call<{ Quotes?: Q[] }>(conn.connectionId, 'quotes', () => ({ method: 'GET', path: `/marketdata/quotes/${symbols}` }), 'quotes');
    return instruments.flatMap((i) => {
      const q = body?.Quotes?.find((x) => x.Symbol === i.symbol);
      if (!q?.Last || !dec(q.Last).gt(0)) return [];
      const side = (v?: string) => (v && dec(v).gt(0) ? num(v) : null);
      return [{ symbol: i.symbol, exchange: i.exchange, bid: side(q.Bid), ask: side(q.Ask), last: num(q.Last), timestamp: q.TradeTime ?? new Date().toISOString() }];
    });
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    return this.observer.onEvent(listener);
  }

  /** An order message from a connection's stream (see OrderObserver.handleStreamOrder). */
  handleStreamOrder(account: string, o: TsOrder): Promise<void> {
    return this.observer.handleStreamOrder(account, o);
  }

  /** The order (or positions) stream's state of a connection (for tests and health), and how often it connected. */
  streamState(account: string, kind: 'orders' | 'positions' = 'orders'): { state: string; connects: number } | undefined {
    return this.feed.streamState(account, kind);
  }

  /** Poll every `intervalMs` (the leader worker runs it): opens streams, finds what a lost push missed. */
  startPolling(intervalMs: number): void {
    this.feed.startPolling(intervalMs);
  }

  poll(): Promise<void> {
    return this.feed.poll();
  }

  async close(): Promise<void> {
    this.feed.close();
    this.observer.close();
  }
}
