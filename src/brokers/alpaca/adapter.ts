import { EventEmitter } from 'node:events';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { dec, fmt, Decimal } from '../../lib/decimal.js';
import {
  BrokerAuthError,
  BrokerRateLimitedError,
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
import { WireHttp, type WireRequest, type WireResponse } from '../connections/wire-http.js';
import { AccountThrottle } from '../connections/throttle.js';
import { AlpacaConnector, alpacaTokenHost } from './auth.js';
import { AlpacaTradeStream, type StreamAuthForm } from './stream.js';
import {
  AlpacaRefusal,
  activityToFill,
  alpacaAuthHeaders,
  num,
  placeOrderRequest,
  replaceOrderRequest,
  toBrokerOrder,
  toOurExchange,
  unwrap,
  updateToFill,
  type AlpacaAccount,
  type AlpacaFillActivity,
  type AlpacaOrder,
  type AlpacaPosition,
  type AlpacaTradeUpdate,
} from './wire.js';
import { OnceEvents } from '../connections/once-events.js';

export interface AlpacaAdapterOptions {
  /** Trading API host: https://api.alpaca.markets (live) or https://paper-api.alpaca.markets (paper). */
  baseUrl: string;
  /** trade_updates stream: wss://api.alpaca.markets/stream or wss://paper-api.alpaca.markets/stream. */
  /** The trade_updates stream; without it fills come by polling alone (a moved base URL turns it off). */
  wsUrl?: string;
  /** Market data host for quotes: https://data.alpaca.markets. */
  dataUrl: string;
  /** OAuth2 authorization page (BROKER_ALPACA_LOGIN_URL): https://app.alpaca.markets/oauth/authorize. */
  loginUrl?: string;
  /** Allow fractional quantities for instruments whose lot size is below one share. */
  fractional?: boolean;
  sessions: BrokerSessions;
  refs: OrderRefs;
  limiter: RateLimiter;
  logger: Logger;
  timeoutMs?: number;
}

/** Documented: 200 requests per minute per account, every endpoint alike. */
const BUDGETS = { all: [{ limit: 200, windowMs: 60_000 }] };
const ENDINGS = new Set(['CANCELED', 'EXPIRED', 'REJECTED']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** X-Ratelimit-Reset is a Unix time in seconds: the wait until then. */
function resetWaitMs(headers: Headers): number | undefined {
  const reset = Number(headers.get('x-ratelimit-reset'));
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) + 50 : undefined;
}

/**
 * Alpaca Trading API v2. The `account` of every call is a broker connection id; its key id and secret
 * come from {@link BrokerSessions}. Our order id is Alpaca's `client_order_id`. Fills come from the
 * `trade_updates` stream and from polling the FILL account activities; both name a fill by the order id
 * and its cumulative filled quantity, so a repeated or late one is the same fill, never a second.
 */
export class AlpacaAdapter implements ConnectableBroker {
  readonly name = 'alpaca';
  readonly rateLimit = { limit: 200, windowMs: 60_000 };
  readonly connector: AlpacaConnector;
  private readonly http: WireHttp;
  private readonly data: WireHttp;
  private readonly throttle: AccountThrottle<'all'>;
  private readonly events = new EventEmitter();
  /** Until when an account's budget is spent, from X-Ratelimit-Remaining: 0 and X-Ratelimit-Reset. */
  private readonly spentUntil = new Map<string, number>();
  private readonly exchanges = new Map<string, string>();
  /** Alpaca order id → our client order id (account-scoped key); only our orders are kept. */
  private readonly ours = new Map<string, string>();
  /** Alpaca order ids known not to be ours (placed elsewhere with the same key): never looked up again. */
  private readonly notOurs = new Set<string>();
  private readonly once = new OnceEvents();
  private readonly streams = new Map<string, { stream: AlpacaTradeStream; openedAt: number }>();
  private readonly cursors = new Map<string, string>();
  /** The stream authentication form that works for an account (switched after a refusal). */
  private readonly authForms = new Map<string, StreamAuthForm>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(private readonly opts: AlpacaAdapterOptions) {
    const retryAfter = resetWaitMs;
    this.http = new WireHttp({ broker: 'Alpaca', baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs, retryAfter });
    this.data = new WireHttp({ broker: 'Alpaca', baseUrl: opts.dataUrl, timeoutMs: opts.timeoutMs, retryAfter });
    this.throttle = new AccountThrottle({ broker: this.name, limiter: opts.limiter, budgets: BUDGETS });
    const token = new WireHttp({ broker: 'Alpaca', baseUrl: alpacaTokenHost(opts.baseUrl), timeoutMs: opts.timeoutMs });
    this.connector = new AlpacaConnector({ http: this.http, token, loginUrl: opts.loginUrl ?? 'https://app.alpaca.markets/oauth/authorize' });
  }

  /** One authenticated call: credentials (fail fast if not ACTIVE), budget, the broker's own counter, request. */
  private async call<T>(account: string, req: WireRequest, what: string, host: WireHttp = this.http): Promise<T> {
    const c = await this.opts.sessions.open(account);
    await this.throttle.take(account, 'all');
    const until = this.spentUntil.get(account) ?? 0;
    if (until > Date.now()) {
      const wait = until - Date.now();
      if (wait > 2_000) throw new BrokerRateLimitedError(wait);
      await sleep(wait);
    }
    let res: WireResponse;
    try {
      res = await host.send({ ...req, headers: { ...req.headers, ...alpacaAuthHeaders(c.app, c.session.accessToken) } });
    } catch (err) {
      if (err instanceof BrokerRateLimitedError) this.spentUntil.set(account, Date.now() + err.retryAfterMs);
      throw err;
    }
    if (res.headers.get('x-ratelimit-remaining') === '0') this.spentUntil.set(account, Date.now() + (resetWaitMs(res.headers) ?? 1_000));
    try {
      return unwrap<T>(res, what);
    } catch (err) {
      if (err instanceof BrokerAuthError) await this.opts.sessions.expire(account, c.app.clientId ? 'Alpaca refused the OAuth token (401)' : 'Alpaca refused the API key (401)');
      throw err;
    }
  }

  private order(o: AlpacaOrder): BrokerOrder {
    return toBrokerOrder(o, this.exchanges.get(o.symbol) ?? '');
  }

  /** Our client order id for an Alpaca order, or null when it was not placed through us. */
  private async oursOf(account: string, orderId: string, clientOrderId?: string): Promise<string | null> {
    const key = `${account}|${orderId}`;
    const known = this.ours.get(key);
    if (known) return known;
    if (this.notOurs.has(key)) return null;
    let cid = clientOrderId;
    if (!cid) cid = (await this.call<AlpacaOrder>(account, { method: 'GET', path: `/v2/orders/${encodeURIComponent(orderId)}` }, 'order')).client_order_id;
    const mine = cid ? await this.opts.refs.clientOrderIdOf(this.name, account, cid) : null;
    if (mine) this.ours.set(key, mine);
    else if (this.notOurs.size < 100_000) this.notOurs.add(key);
    return mine;
  }

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    const wire = placeOrderRequest(req, this.opts.fractional ?? true);
    this.exchanges.set(req.instrument.symbol, req.instrument.exchange);
    const fresh = await this.opts.refs.remember(this.name, req.account, req.clientOrderId, req.clientOrderId);
    if (!fresh) {
      // Sent before (a retry after a lost acknowledgement): the client_order_id finds it.
      const existing = await this.getOrder(req.account, { clientOrderId: req.clientOrderId });
      if (existing) return existing;
    }
    let placed: AlpacaOrder;
    try {
      placed = await this.call<AlpacaOrder>(req.account, wire, 'place order');
    } catch (err) {
      if (err instanceof AlpacaRefusal && err.status === 422 && /client_order_id/i.test(err.reason)) {
        const existing = await this.getOrder(req.account, { clientOrderId: req.clientOrderId });
        if (existing) return existing;
      }
      throw err;
    }
    this.ours.set(`${req.account}|${placed.id}`, req.clientOrderId);
    return this.order(placed);
  }

  /** Replace an open order (PATCH /v2/orders/{id}): Alpaca answers with the replacement, a new order id. */
  async replaceOrder(account: string, brokerOrderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string; timeInForce?: 'DAY' | 'GTC' | 'IOC' }): Promise<BrokerOrder> {
    const next = await this.call<AlpacaOrder>(account, replaceOrderRequest(brokerOrderId, change), 'replace order');
    const mine = this.ours.get(`${account}|${brokerOrderId}`);
    if (mine) this.ours.set(`${account}|${next.id}`, mine);
    return this.order(next);
  }

  async cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const current = await this.getOrder(account, { brokerOrderId });
    if (!current) throw new BrokerRejectedError(`order ${brokerOrderId} not found at Alpaca`);
    if (current.status !== 'OPEN' && current.status !== 'PARTIALLY_FILLED') throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be cancelled`);
    await this.call(account, { method: 'DELETE', path: `/v2/orders/${encodeURIComponent(brokerOrderId)}` }, 'cancel order');
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  async getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    const req: WireRequest =
      'clientOrderId' in ref
        ? { method: 'GET', path: '/v2/orders:by_client_order_id', query: { client_order_id: ref.clientOrderId } }
        : { method: 'GET', path: `/v2/orders/${encodeURIComponent(ref.brokerOrderId)}` };
    try {
      return this.order(await this.call<AlpacaOrder>(account, req, 'order'));
    } catch (err) {
      if (err instanceof AlpacaRefusal && (err.status === 404 || err.status === 422)) return null; // unknown or malformed id
      throw err;
    }
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    const rows = await this.call<AlpacaOrder[]>(account, { method: 'GET', path: '/v2/orders', query: { status: 'all', limit: '500', direction: 'desc' } }, 'orders');
    return rows.map((o) => this.order(o));
  }

  /** FILL activities of one order, from its creation on (Alpaca has no per-order fills endpoint). */
  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const o = await this.call<AlpacaOrder>(account, { method: 'GET', path: `/v2/orders/${encodeURIComponent(brokerOrderId)}` }, 'order');
    if (dec(o.filled_qty ?? '0').isZero()) return [];
    const after = new Date(Date.parse(o.created_at ?? o.submitted_at ?? new Date(0).toISOString()) - 1_000).toISOString();
    const rows = await this.activities(account, after);
    return rows.filter((a) => a.order_id === brokerOrderId).map((a) => activityToFill(a, o.client_order_id));
  }

  private async activities(account: string, after: string): Promise<AlpacaFillActivity[]> {
    const out: AlpacaFillActivity[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < 20; page++) {
      const rows = await this.call<AlpacaFillActivity[]>(
        account,
        { method: 'GET', path: '/v2/account/activities/FILL', query: { after, direction: 'asc', page_size: '100', page_token: pageToken } },
        'fill activities',
      );
      out.push(...rows);
      if (rows.length < 100) break;
      pageToken = rows[rows.length - 1].id;
    }
    return out;
  }

  async getPositions(account: string): Promise<BrokerPosition[]> {
    const rows = await this.call<AlpacaPosition[]>(account, { method: 'GET', path: '/v2/positions' }, 'positions');
    return rows
      .filter((p) => !dec(num(p.qty)).isZero())
      .map((p) => ({ symbol: p.symbol, exchange: toOurExchange(p.exchange), quantity: num(p.qty), averagePrice: num(p.avg_entry_price) }));
  }

  /** Cash, and what can be spent without margin: the lower of cash and buying power. */
  async getFunds(account: string): Promise<BrokerFunds> {
    const a = await this.call<AlpacaAccount>(account, { method: 'GET', path: '/v2/account' }, 'account');
    const cash = num(a.cash);
    return { currency: (a.currency ?? 'USD').toUpperCase(), cash, available: fmt(Decimal.max(0, Decimal.min(cash, num(a.buying_power)))) };
  }

  /** Latest quote and trade from the market data API (`GET /v2/stocks/snapshots?symbols=`). */
  async getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]> {
    const [conn] = await this.opts.sessions.active(this.name);
    if (!conn) throw new BrokerAuthError('no active Alpaca connection to quote through');
    type Snap = { latestTrade?: { p: number; t: string }; latestQuote?: { bp: number; ap: number; t: string } };
    const symbols = [...new Set(instruments.map((i) => i.symbol))].join(',');
    const snaps = await this.call<Record<string, Snap>>(conn.connectionId, { method: 'GET', path: '/v2/stocks/snapshots', query: { symbols } }, 'snapshots', this.data);
    return instruments.flatMap((i) => {
      const s = snaps?.[i.symbol];
      if (!s?.latestTrade) return [];
      const q = s.latestQuote;
      return [{ symbol: i.symbol, exchange: i.exchange, bid: q?.bp ? num(q.bp) : null, ask: q?.ap ? num(q.ap) : null, last: num(s.latestTrade.p), timestamp: s.latestTrade.t }];
    });
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  private emit(e: BrokerEvent): void {
    if (!this.once.first(e)) return;
    this.events.emit('event', e);
  }

  /** A trade update from an account's stream: fills as fill events, endings as order events; others' orders ignored. */
  async handleUpdate(account: string, u: AlpacaTradeUpdate): Promise<void> {
    if (!u?.order?.id) return;
    const mine = await this.oursOf(account, u.order.id, u.order.client_order_id).catch(() => null);
    if (!mine) return;
    if ((u.event === 'fill' || u.event === 'partial_fill') && u.qty !== undefined && u.price !== undefined) {
      this.emit({ kind: 'fill', account, fill: { ...updateToFill(u), clientOrderId: mine } });
    }
    const order = { ...this.order(u.order), clientOrderId: mine };
    // `replaced` ends only the old id: the replacement carries the order on.
    if (ENDINGS.has(order.status) && u.event !== 'replaced') this.emit({ kind: 'order', account, order });
  }

  /** Open the trade_updates stream of an account unless one is open (or was tried in the last second). */
  private ensureStream(account: string, keyId: string, secretKey: string, oauth = false): void {
    if (!this.opts.wsUrl) return;
    const s = this.streams.get(account);
    if (s && (s.stream.open || Date.now() - s.openedAt < 1_000)) return;
    const form = oauth ? 'oauth' : (this.authForms.get(account) ?? 'authenticate');
    const stream = new AlpacaTradeStream(
      this.opts.wsUrl,
      keyId,
      secretKey,
      (u) => void this.handleUpdate(account, u).catch((err: Error) => this.opts.logger.warn({ err: { name: err.name, message: err.message }, connectionId: account }, 'Alpaca trade update not applied')),
      (state, authorized) => {
        if (authorized || oauth) return;
        // Refused or dropped before authorizing: the next attempt uses the other documented form.
        this.authForms.set(account, form === 'authenticate' ? 'auth' : 'authenticate');
        if (state === 'unauthorized') this.opts.logger.warn({ connectionId: account }, 'Alpaca stream refused the authentication');
      },
      form,
    );
    this.streams.set(account, { stream, openedAt: Date.now() });
  }

  /** Whether an account's stream is authorized and listening (for tests and health). */
  streamState(account: string): string | undefined {
    return this.streams.get(account)?.stream.state;
  }

  /** Poll every `intervalMs` (the leader worker runs it): reopens streams, finds what a lost push missed. */
  startPolling(intervalMs: number): void {
    if (this.pollTimer || this.closed) return;
    // A pass that fails outside one connection (the database gone at shutdown) is logged, never unhandled.
    const pass = () => void this.poll().catch((err: Error) => this.opts.logger.warn({ err: { name: err.name, message: err.message } }, 'Alpaca poll pass failed'));
    this.pollTimer = setInterval(pass, intervalMs);
    this.pollTimer.unref();
    pass();
  }

  async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      for (const c of await this.opts.sessions.active(this.name)) {
        try {
          const open = await this.opts.sessions.open(c.connectionId);
          this.ensureStream(c.connectionId, open.app.keyId ?? '', open.app.clientId ? open.session.accessToken : (open.app.secretKey ?? open.session.accessToken), Boolean(open.app.clientId));
          await this.pollAccount(c.connectionId);
        } catch (err) {
          if (!(err instanceof BrokerAuthError)) this.opts.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message }, connectionId: c.connectionId }, 'Alpaca poll failed');
        }
      }
      for (const [account, s] of this.streams) {
        if (!(await this.opts.sessions.active(this.name)).some((c) => c.connectionId === account)) {
          s.stream.close();
          this.streams.delete(account);
        }
      }
    } finally {
      this.polling = false;
    }
  }

  private async pollAccount(account: string): Promise<void> {
    const after = this.cursors.get(account) ?? new Date(Date.now() - 86_400_000).toISOString();
    const fills = await this.activities(account, after);
    for (const a of fills) {
      const mine = await this.oursOf(account, a.order_id);
      if (mine) this.emit({ kind: 'fill', account, fill: activityToFill(a, mine) });
    }
    const last = fills[fills.length - 1];
    // Overlap by a second: activities at the cursor's instant are seen again and deduplicated.
    if (last) this.cursors.set(account, new Date(Date.parse(last.transaction_time) - 1_000).toISOString());
    const closed = await this.call<AlpacaOrder[]>(account, { method: 'GET', path: '/v2/orders', query: { status: 'closed', limit: '100', direction: 'desc' } }, 'closed orders');
    for (const o of closed) {
      const order = this.order(o);
      if (!ENDINGS.has(order.status) || o.status === 'replaced') continue;
      const mine = await this.oursOf(account, o.id, o.client_order_id);
      if (mine) this.emit({ kind: 'order', account, order: { ...order, clientOrderId: mine } });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    for (const s of this.streams.values()) s.stream.close();
    this.streams.clear();
    this.events.removeAllListeners();
  }
}
