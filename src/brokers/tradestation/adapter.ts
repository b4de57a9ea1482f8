import { EventEmitter } from 'node:events';
import type { Logger } from '../../lib/logger.js';
import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.js';
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
import { WireHttp, type WireRequest } from '../connections/wire-http.js';
import { AccountThrottle } from '../connections/throttle.js';
import { TradeStationConnector } from './auth.js';
import { ChunkedJsonStream } from './stream.js';
import { PositionsStream } from './positions-stream.js';
import { FillLedger } from './fill-ledger.js';
import { OrderOwnership } from './ownership.js';
import {
  TradeStationRefusal,
  bearer,
  num,
  orderFigures,
  placeOrderRequest,
  replaceOrderRequest,
  replyOrderId,
  toBrokerOrder,
  unwrap,
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

type Category = 'accounts' | 'orders' | 'balances' | 'positions' | 'execution' | 'quotes';

/**
 * TradeStation's documented quotas (api.tradestation.com/docs/fundamentals/rate-limiting), per user, in
 * fixed 5-minute windows: Accounts, Order Details, Balances and Positions 250 each; Quote Snapshot 30 per
 * minute. Order placement, replace and cancel have no published quota: none is imposed here, and a 429
 * is waited out (Retry-After) like everywhere else.
 */
const FIVE_MIN = 300_000;
const BUDGETS: Record<Category, RateLimit[]> = {
  accounts: [{ limit: 250, windowMs: FIVE_MIN }],
  orders: [{ limit: 250, windowMs: FIVE_MIN }],
  balances: [{ limit: 250, windowMs: FIVE_MIN }],
  positions: [{ limit: 250, windowMs: FIVE_MIN }],
  execution: [],
  quotes: [{ limit: 30, windowMs: 60_000 }],
};
const ENDINGS = new Set(['CANCELED', 'EXPIRED', 'REJECTED']);
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
 */
export class TradeStationAdapter implements ConnectableBroker {
  readonly name = 'tradestation';
  readonly rateLimit = { limit: 250, windowMs: FIVE_MIN };
  readonly connector: TradeStationConnector;
  private readonly http: WireHttp;
  private readonly throttle: AccountThrottle<Category>;
  private readonly events = new EventEmitter();
  private readonly ledger = new FillLedger();
  private readonly exchanges = new Map<string, string>();
  private readonly owners: OrderOwnership;
  private readonly emitted = new Set<string>();
  /** Stream messages of an account, handled one after another (in the order they came). */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly streams = new Map<string, ChunkedJsonStream>();
  private readonly positionStreams = new Map<string, PositionsStream>();
  private readonly lastPoll = new Map<string, number>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(private readonly opts: TradeStationAdapterOptions) {
    this.http = new WireHttp({ broker: 'TradeStation', baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs });
    const signin = new WireHttp({ broker: 'TradeStation sign-in', baseUrl: new URL(opts.loginUrl).origin, timeoutMs: opts.timeoutMs });
    this.throttle = new AccountThrottle({ broker: this.name, limiter: opts.limiter, budgets: BUDGETS });
    this.connector = new TradeStationConnector({ signin, api: this.http, loginUrl: opts.loginUrl });
    this.owners = new OrderOwnership(opts.refs, this.name);
  }

  /** One authenticated call: session (fail fast if not ACTIVE), the category's quota, the request. */
  private async call<T>(account: string, cat: Category, req: (tsAccount: string) => WireRequest, what: string): Promise<T> {
    const c = await this.opts.sessions.open(account);
    const tsAccount = c.accountId ?? c.session.accountId;
    if (!tsAccount) throw new BrokerAuthError('TradeStation connection has no account; reconnect it');
    await this.throttle.take(account, cat);
    const r = req(tsAccount);
    const res = await this.http.send({ ...r, headers: { ...r.headers, ...bearer(c.session.accessToken) } });
    try {
      return unwrap<T>(res, what);
    } catch (err) {
      if (err instanceof BrokerAuthError) await this.opts.sessions.expire(account, 'TradeStation refused the access token (401)');
      throw err;
    }
  }

  private async tsAccountOf(account: string): Promise<string> {
    const c = await this.opts.sessions.open(account);
    const id = c.accountId ?? c.session.accountId;
    if (!id) throw new BrokerAuthError('TradeStation connection has no account; reconnect it');
    return id;
  }

  private order(o: TsOrder, clientOrderId: string): BrokerOrder {
    const symbol = orderFigures(o).symbol;
    return toBrokerOrder(o, clientOrderId, this.exchanges.get(symbol) ?? '', new Date().toISOString());
  }

  private oursOf(account: string, orderId: string): Promise<string | null> {
    return this.owners.oursOf(account, orderId);
  }

  /** Record an acknowledged OrderID (see OrderOwnership); states held until now are observed first. */
  private async claim(account: string, orderId: string, clientOrderId: string): Promise<boolean> {
    if (!(await this.owners.claim(account, orderId, clientOrderId))) return false;
    for (const state of this.owners.takeHeld(account, orderId)) this.observe(account, state, clientOrderId);
    return true;
  }

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    const wire = placeOrderRequest(req, await this.tsAccountOf(req.account), this.opts.route ?? 'Intelligent');
    this.exchanges.set(req.instrument.symbol, req.instrument.exchange);
    const fresh = await this.owners.markSent(req.account, req.clientOrderId);
    if (!fresh) {
      // Sent before: acknowledged (the OrderID is recorded), or the acknowledgement was lost.
      const existing = await this.getOrder(req.account, { clientOrderId: req.clientOrderId });
      if (existing) return existing;
      const adopted = await this.adoptLost(req, wire.json as Record<string, unknown>);
      if (adopted) return adopted;
    }
    const reply = await this.call<TsOrderReply>(req.account, 'execution', () => wire, 'place order');
    const orderId = replyOrderId(reply, 'place order');
    await this.claim(req.account, orderId, req.clientOrderId);
    const placed = await this.fetchOrder(req.account, orderId);
    if (placed) return this.observe(req.account, placed, req.clientOrderId);
    // Not listed yet: as acknowledged.
    return { brokerOrderId: orderId, clientOrderId: req.clientOrderId, symbol: req.instrument.symbol, exchange: req.instrument.exchange, side: req.side, type: req.type, quantity: fmt(req.quantity), filledQuantity: '0', averagePrice: null, status: 'OPEN', updatedAt: new Date().toISOString() };
  }

  /** A lost acknowledgement: the oldest unclaimed order of today that matches the request exactly. */
  private async adoptLost(req: BrokerOrderRequest, sent: Record<string, unknown>): Promise<BrokerOrder | null> {
    const rows = await this.rawOrders(req.account);
    const same = (a: unknown, b: unknown) => (a === undefined || a === null || a === '' ? b === undefined : b !== undefined && dec(String(a)).eq(String(b)));
    const candidates = rows
      .filter((o) => {
        const f = orderFigures(o);
        return f.symbol === req.instrument.symbol && f.side === req.side && dec(f.quantity).eq(req.quantity) && o.OrderType === sent.OrderType && (o.Duration ?? '').startsWith(req.timeInForce) && same(o.LimitPrice, sent.LimitPrice) && same(o.StopPrice, sent.StopPrice);
      })
      .sort((a, b) => Date.parse(a.OpenedDateTime ?? '') - Date.parse(b.OpenedDateTime ?? ''));
    for (const o of candidates) {
      if (await this.oursOf(req.account, o.OrderID)) continue;
      if (await this.claim(req.account, o.OrderID, req.clientOrderId)) {
        this.opts.logger.warn({ connectionId: req.account, orderId: o.OrderID }, 'TradeStation acknowledgement was lost: adopted the matching order');
        return this.observe(req.account, o, req.clientOrderId);
      }
    }
    return null;
  }

  /** Replace a working order (PUT /orderexecution/orders/{id}); the reply names the order that carries on. */
  async replaceOrder(account: string, brokerOrderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string }): Promise<BrokerOrder> {
    const reply = await this.call<TsOrderReply>(account, 'execution', () => replaceOrderRequest(brokerOrderId, change), 'replace order');
    const next = replyOrderId(reply, 'replace order');
    const mine = await this.oursOf(account, brokerOrderId);
    if (mine && next !== brokerOrderId) await this.claim(account, next, mine);
    const o = await this.getOrder(account, { brokerOrderId: next });
    if (!o) throw new BrokerRejectedError(`order ${next} not found at TradeStation after the replace`);
    return o;
  }

  async cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const current = await this.getOrder(account, { brokerOrderId });
    if (!current) throw new BrokerRejectedError(`order ${brokerOrderId} not found at TradeStation`);
    if (!LIVE.has(current.status)) throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be cancelled`);
    await this.call(account, 'execution', () => ({ method: 'DELETE', path: `/orderexecution/orders/${encodeURIComponent(brokerOrderId)}` }), 'cancel order');
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  /** Today's and open orders by id, then the historical ones (90 days). */
  private async fetchOrder(account: string, orderId: string): Promise<TsOrder | null> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(orderId)) return null;
    const id = encodeURIComponent(orderId);
    const since = new Date(Date.now() - 89 * 86_400_000).toISOString().slice(0, 10);
    for (const [path, query] of [
      [(a: string) => `/brokerage/accounts/${a}/orders/${id}`, undefined],
      [(a: string) => `/brokerage/accounts/${a}/historicalorders/${id}`, { since }],
    ] as const) {
      try {
        const body = await this.call<{ Orders?: TsOrder[] }>(account, 'orders', (a) => ({ method: 'GET', path: path(encodeURIComponent(a)), query }), 'order');
        const o = body?.Orders?.find((x) => x.OrderID === orderId);
        if (o) return o;
      } catch (err) {
        if (!(err instanceof TradeStationRefusal && (err.status === 404 || err.status === 400))) throw err;
      }
    }
    return null;
  }

  async getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    let orderId: string | null;
    if ('clientOrderId' in ref) {
      orderId = await this.owners.orderIdOf(account, ref.clientOrderId);
      if (!orderId) return null;
    } else orderId = ref.brokerOrderId;
    const o = await this.fetchOrder(account, orderId);
    if (!o) return null;
    const mine = await this.oursOf(account, o.OrderID);
    return mine ? this.observe(account, o, mine) : this.order(o, '');
  }

  /** Today's orders and every open one (`GET /brokerage/accounts/{id}/orders`, paged by nextToken). */
  private async rawOrders(account: string): Promise<TsOrder[]> {
    const out: TsOrder[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 10; page++) {
      const body = await this.call<{ Orders?: TsOrder[]; NextToken?: string }>(
        account,
        'orders',
        (a) => ({ method: 'GET', path: `/brokerage/accounts/${encodeURIComponent(a)}/orders`, query: { pageSize: '600', nextToken } }),
        'orders',
      );
      out.push(...(body?.Orders ?? []));
      nextToken = body?.NextToken;
      if (!nextToken) break;
    }
    return out;
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    const rows = await this.rawOrders(account);
    const out: BrokerOrder[] = [];
    for (const o of rows) out.push(this.order(o, (await this.oursOf(account, o.OrderID)) ?? ''));
    return out;
  }

  /** The fills of one order, as seen so far (a rise of the filled quantity not seen before is one fill). */
  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const o = await this.fetchOrder(account, brokerOrderId);
    if (!o) return [];
    const mine = (await this.oursOf(account, o.OrderID)) ?? '';
    this.observe(account, o, mine);
    return this.ledger.fills(account, o.OrderID).map((f) => ({ ...f, clientOrderId: mine }));
  }

  /**
   * From the connection's positions stream while it is connected and past its snapshot (no quota spent);
   * otherwise by REST (`GET /brokerage/accounts/{id}/positions`, 250 per 5 minutes).
   */
  async getPositions(account: string): Promise<BrokerPosition[]> {
    const streamed = this.positionStreams.get(account)?.positions();
    if (streamed) return this.toPositions(streamed);
    const body = await this.call<{ Positions?: TsPosition[] }>(account, 'positions', (a) => ({ method: 'GET', path: `/brokerage/accounts/${encodeURIComponent(a)}/positions` }), 'positions');
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
    const body = await this.call<{ Balances?: TsBalance[] }>(account, 'balances', (a) => ({ method: 'GET', path: `/brokerage/accounts/${encodeURIComponent(a)}/balances` }), 'balances');
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
    const body = await this.call<{ Quotes?: Q[] }>(conn.connectionId, 'quotes', () => ({ method: 'GET', path: `/marketdata/quotes/${symbols}` }), 'quotes');
    return instruments.flatMap((i) => {
      const q = body?.Quotes?.find((x) => x.Symbol === i.symbol);
      if (!q?.Last || !dec(q.Last).gt(0)) return [];
      const side = (v?: string) => (v && dec(v).gt(0) ? num(v) : null);
      return [{ symbol: i.symbol, exchange: i.exchange, bid: side(q.Bid), ask: side(q.Ask), last: num(q.Last), timestamp: q.TradeTime ?? new Date().toISOString() }];
    });
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  private emit(e: BrokerEvent): void {
    const key = e.kind === 'fill' ? `${e.account}|fill|${e.fill.brokerFillId}` : `${e.account}|end|${e.order.brokerOrderId}|${e.order.status}`;
    if (this.emitted.has(key)) return;
    this.emitted.add(key);
    if (this.emitted.size > 200_000) this.emitted.clear(); // replays after a clear are harmless (fills are idempotent)
    this.events.emit('event', e);
  }

  /**
   * Whatever the source (stream, poll, a read), an order state of ours: new fills into the ledger and out
   * as fill events, an ending out as an order event. Returns the order in our terms.
   */
  private observe(account: string, o: TsOrder, clientOrderId: string): BrokerOrder {
    if (clientOrderId) for (const state of this.owners.takeHeld(account, o.OrderID)) this.observe(account, state, clientOrderId);
    const order = this.order(o, clientOrderId);
    const fresh = this.ledger.observe(account, o, new Date().toISOString());
    if (!clientOrderId) return order;
    for (const f of fresh) this.emit({ kind: 'fill', account, fill: { ...f, clientOrderId } });
    if (ENDINGS.has(order.status)) this.emit({ kind: 'order', account, order });
    return order;
  }

  /** An order message from a connection's stream: ours are observed, others kept a while (they may be ours yet). */
  async handleStreamOrder(account: string, o: TsOrder): Promise<void> {
    if (!o?.OrderID) return;
    const mine = await this.oursOf(account, o.OrderID);
    if (mine) {
      this.observe(account, o, mine);
      return;
    }
    this.owners.hold(account, o);
  }

  /** Open a connection's order and positions streams unless they are open. */
  private ensureStream(account: string): void {
    if (this.opts.streams === false || this.closed) return;
    const s = this.streams.get(account);
    if (!s || s.state === 'closed') this.openOrderStream(account);
    const p = this.positionStreams.get(account);
    if (!p || p.state === 'closed') this.positionStreams.set(account, new PositionsStream({ account, idleMs: this.opts.streamIdleMs, logger: this.opts.logger, open: () => this.streamTarget(account, 'positions') }));
  }

  private openOrderStream(account: string): void {
    const stream = new ChunkedJsonStream({
      idleMs: this.opts.streamIdleMs,
      open: () => this.streamTarget(account, 'orders'),
      onMessage: (m) => {
        if (typeof m.OrderID === 'string') {
          const next = (this.chains.get(account) ?? Promise.resolve())
            .then(() => this.handleStreamOrder(account, m as unknown as TsOrder))
            .catch((err: Error) => this.opts.logger.warn({ err: { name: err.name, message: err.message }, connectionId: account }, 'TradeStation order update not applied'));
          this.chains.set(account, next);
        } else if (m.Error) this.opts.logger.warn({ connectionId: account, error: String(m.Error), message: String(m.Message ?? '').slice(0, 200) }, 'TradeStation order stream reported an error');
      },
      onDrop: (reason, err) => {
        if (err instanceof BrokerAuthError) return { fatal: true };
        this.opts.logger.debug({ connectionId: account, reason }, 'TradeStation order stream dropped; reconnecting');
      },
    });
    this.streams.set(account, stream);
  }

  /** A stream's URL with the connection's current (fresh) access token. */
  private async streamTarget(account: string, kind: 'orders' | 'positions'): Promise<{ url: string; headers: Record<string, string> }> {
    const c = await this.opts.sessions.open(account);
    const tsAccount = c.accountId ?? c.session.accountId ?? '';
    return { url: this.http.url(`/brokerage/stream/accounts/${encodeURIComponent(tsAccount)}/${kind}`), headers: bearer(c.session.accessToken) };
  }

  /** The order (or positions) stream's state of a connection (for tests and health), and how often it connected. */
  streamState(account: string, kind: 'orders' | 'positions' = 'orders'): { state: string; connects: number } | undefined {
    const s = kind === 'orders' ? this.streams.get(account) : this.positionStreams.get(account);
    return s && { state: s.state, connects: s.connects };
  }

  /** Poll every `intervalMs` (the leader worker runs it): opens streams, finds what a lost push missed. */
  startPolling(intervalMs: number): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => void this.poll(), intervalMs);
    this.pollTimer.unref();
    void this.poll();
  }

  async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const active = await this.opts.sessions.active(this.name).catch((err: Error) => {
        // The connections could not be listed (the database is away, or closing): the next pass tries
        // again; never a rejection out of the poll timer's callback.
        this.opts.logger.warn({ err: { name: err.name, message: err.message } }, `TradeStation poll could not list connections`);
        return null;
      });
      if (!active) return;
      for (const c of active) {
        try {
          this.ensureStream(c.connectionId);
          await this.pollAccount(c.connectionId);
        } catch (err) {
          if (!(err instanceof BrokerAuthError)) this.opts.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message }, connectionId: c.connectionId }, 'TradeStation poll failed');
        }
      }
      for (const map of [this.streams, this.positionStreams] as Array<Map<string, { close(): void }>>) {
        for (const [account, s] of map) {
          if (!active.some((c) => c.connectionId === account)) {
            s.close();
            map.delete(account);
          }
        }
      }
    } finally {
      this.polling = false;
    }
  }

  /** Read an account's orders back (at most every minPollIntervalMs) and observe ours. */
  private async pollAccount(account: string): Promise<void> {
    const last = this.lastPoll.get(account) ?? 0;
    if (Date.now() - last < (this.opts.minPollIntervalMs ?? 2_400)) return;
    this.lastPoll.set(account, Date.now());
    for (const o of await this.rawOrders(account)) {
      const mine = await this.oursOf(account, o.OrderID);
      if (mine) this.observe(account, o, mine);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    for (const s of [...this.streams.values(), ...this.positionStreams.values()]) s.close();
    this.streams.clear();
    this.positionStreams.clear();
    this.events.removeAllListeners();
  }
}
