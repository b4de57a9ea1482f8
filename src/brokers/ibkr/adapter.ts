import { EventEmitter } from 'node:events';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { dec, fmt, Decimal } from '../../lib/decimal.js';
import {
  BrokerAuthError,
  BrokerRejectedError,
  type BrokerEvent,
  type BrokerFill,
  type BrokerFunds,
  type BrokerInstrument,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerPosition,
  type BrokerQuote,
} from '../broker.js';
import type { ConnectableBroker } from '../connections/connector.js';
import type { BrokerInstruments, BrokerSessions, OrderRefs } from '../connections/sessions.js';
import type { WireRequest } from '../connections/wire-http.js';
import { IbkrConnector } from './auth.js';
import { ConfirmPolicy, textsOf, type IbkrReplyMessage } from './confirm-policy.js';
import { IbkrGateway, usable, type IbkrCallClass } from './gateway.js';
import { IbkrFeed } from './feed.js';
import { IbkrContracts } from './contracts.js';
import {
  IbkrRefusal,
  coidOf,
  cancelOrderRequest,
  isReplyMessage,
  modifyOrderRequest,
  num,
  orderTicket,
  placeOrderRequest,
  replyRequest,
  statusToOrder,
  toOurExchange,
  unwrap,
  type IbkrLedger,
  type IbkrOrderAck,
  type IbkrOrderStatus,
  type IbkrPosition,
  type IbkrSummary,
} from './wire.js';
import { ibkrStatus } from './status-map.js';
import { acceptedOrder } from '../connections/accepted-order.js';
import { reduceByModify } from '../connections/reduce-by-modify.js';

export interface IbkrAdapterOptions {
  /** The gateway's API root (BROKER_IBKR_BASE_URL): https://localhost:5000/v1/api. */
  baseUrl: string;
  /** The gateway websocket (BROKER_IBKR_WS_URL, default: the base URL's /ws); none: fills by polling only. */
  wsUrl?: string;
  /** Accept the gateway's self-signed certificate (BROKER_IBKR_INSECURE_TLS). */
  insecureTls?: boolean;
  /** Reply messages allowed to be confirmed (BROKER_IBKR_CONFIRM); anything else rejects the order. */
  confirm?: string;
  /** /tickle interval (documented: about once a minute keeps the session). */
  tickleMs?: number;
  /** Stop after a 429 for this long (documented penalty box: 10 minutes). */
  penaltyMs?: number;
  sessions: BrokerSessions;
  refs: OrderRefs;
  instruments?: BrokerInstruments;
  limiter: RateLimiter;
  logger: Logger;
  timeoutMs?: number;
}

/**
 * IBKR Client Portal Web API through the user's gateway. The `account` of every call is a broker
 * connection id whose IB account id is the session's `accountId`. Our order id is IB's `cOID` (the
 * `order_ref` of its orders and executions); IB's order id ↔ our id are kept in the order refs (the
 * database), so any process finds them. Orders that IB answers with questions go through the explicit
 * confirmation policy. Fills come from the `str` websocket topic and from polling the trades (1 per
 * 5 s), keyed by IB's execution_id, commission as the fee.
 */
export class IbkrAdapter implements ConnectableBroker {
  readonly name = 'ibkr';
  readonly rateLimit = { limit: 10, windowMs: 1_250 }; // as the gateway budget (gateway.ts)
  readonly connector: IbkrConnector;
  readonly gateway: IbkrGateway;
  readonly policy: ConfirmPolicy;
  private readonly feed: IbkrFeed;
  private readonly events = new EventEmitter();
  private readonly contracts: IbkrContracts;
  private readonly exchanges = new Map<string, string>();
  private brokerageReady = false;
  private portfolioReady = false;

  constructor(private readonly opts: IbkrAdapterOptions) {
    this.gateway = new IbkrGateway({ baseUrl: opts.baseUrl, insecureTls: opts.insecureTls, limiter: opts.limiter, logger: opts.logger, penaltyMs: opts.penaltyMs, timeoutMs: opts.timeoutMs });
    this.policy = new ConfirmPolicy(opts.confirm ?? '');
    this.connector = new IbkrConnector({ gateway: this.gateway });
    this.contracts = new IbkrContracts({ call: (account, req, what) => this.call(account, req, what), instruments: opts.instruments });
    this.feed = new IbkrFeed({ adapter: this, gateway: this.gateway, sessions: opts.sessions, logger: opts.logger, wsUrl: opts.wsUrl, insecureTls: opts.insecureTls, tickleMs: opts.tickleMs });
  }

  /** The IB account id of a connection (fails fast when the connection is not ACTIVE). */
  async ibAccount(account: string): Promise<string> {
    const c = await this.opts.sessions.open(account);
    const id = c.accountId ?? c.app.accountId;
    if (!id) throw new BrokerAuthError('IBKR connection has no account id; reconnect it');
    return id;
  }

  /**
   * One call for a connection. A 401 (no brokerage session) is met with one re-authentication and one
   * retry; if the gateway stays logged out every IBKR connection becomes EXPIRED (BROKER_AUTH_REQUIRED).
   */
  async call<T>(account: string, req: WireRequest, what: string, cls: IbkrCallClass = 'all', noWait = false): Promise<T> {
    await this.opts.sessions.open(account);
    let res = await this.gateway.send(req, cls, noWait);
    if (res.status === 401) {
      if (await this.gateway.reauthenticate()) {
        this.brokerageReady = false;
        res = await this.gateway.send(req, cls);
      }
      if (res.status === 401) {
        await this.sessionGone();
        throw new BrokerAuthError('the IBKR gateway session has ended: log in at the gateway and reconnect');
      }
    }
    return unwrap<T>(res, what);
  }

  /** The gateway cannot be brought back: every IBKR connection waits for the user. */
  async sessionGone(): Promise<void> {
    this.brokerageReady = false;
    this.portfolioReady = false;
    for (const c of await this.opts.sessions.active(this.name)) await this.opts.sessions.expire(c.connectionId, 'IBKR gateway session ended (not authenticated)');
  }

  /** GET /iserver/accounts, which IB requires before order calls in a brokerage session. */
  private async brokerage(account: string): Promise<void> {
    if (this.brokerageReady) return;
    await this.call(account, { method: 'GET', path: '/iserver/accounts' }, 'accounts');
    this.brokerageReady = true;
  }

  /** GET /portfolio/accounts, which IB requires before the portfolio endpoints (1 per 5 s). */
  private async portfolio(account: string): Promise<void> {
    if (this.portfolioReady) return;
    await this.call(account, { method: 'GET', path: '/portfolio/accounts' }, 'portfolio accounts', 'accounts');
    this.portfolioReady = true;
  }

  /** The contract id of an instrument (see {@link IbkrContracts}). */
  conidOf(account: string, i: { symbol: string; exchange: string }): Promise<number> {
    return this.contracts.conidOf(account, i);
  }

  instrumentOf(conid: number | string | undefined): { symbol: string; exchange: string } | undefined {
    return this.contracts.instrumentOf(conid);
  }

  /** Our client order id for an IB order id / for a cOID, and IB's order id for ours (order refs). */
  clientIdOfOrder(account: string, orderId: string): Promise<string | null> {
    return this.opts.refs.clientOrderIdOf(this.name, account, `oid>${orderId}`);
  }
  clientIdOfRef(account: string, coid: string): Promise<string | null> {
    return this.opts.refs.clientOrderIdOf(this.name, account, coid);
  }
  orderIdOf(account: string, clientOrderId: string): Promise<string | null> {
    return this.opts.refs.clientOrderIdOf(this.name, account, `cid>${clientOrderId}`);
  }
  private async link(account: string, clientOrderId: string, orderId: string): Promise<void> {
    await this.opts.refs.remember(this.name, account, `oid>${orderId}`, clientOrderId);
    await this.opts.refs.remember(this.name, account, `cid>${clientOrderId}`, orderId);
  }

  /**
   * Answer IB's questions: each reply is confirmed only when the policy allows every message in it,
   * else declined (`{"confirmed":false}`) and the order rejected with IB's words. At most 5 rounds.
   */
  private async settleReplies(account: string, first: unknown, what: string): Promise<IbkrOrderAck> {
    let answer = first;
    for (let round = 0; round < 5; round++) {
      const rows = Array.isArray(answer) ? answer : [answer];
      const question = rows.find(isReplyMessage) as IbkrReplyMessage | undefined;
      if (!question) {
        const ack = rows.find((r) => r && typeof r === 'object' && 'order_id' in r) as IbkrOrderAck | undefined;
        if (!ack) throw new BrokerRejectedError(`IBKR ${what}: no order id in the answer`);
        return ack;
      }
      const refused = this.policy.disallowed(question);
      if (refused.length > 0) {
        await this.call(account, replyRequest(question.id, false), 'decline order warning').catch(() => undefined);
        throw new BrokerRejectedError(`IBKR asks to confirm: ${refused.join(' | ')} (not allowed by BROKER_IBKR_CONFIRM)`, `IBKR_CONFIRMATION_REFUSED: ${refused.join(' | ')}`);
      }
      this.opts.logger.info({ connectionId: account, messageIds: question.messageIds, messages: textsOf(question) }, 'IBKR order warning confirmed by policy');
      answer = await this.call<unknown>(account, replyRequest(question.id, true), 'confirm order warning');
    }
    throw new BrokerRejectedError(`IBKR ${what}: too many confirmations asked`);
  }

  async placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder> {
    const ib = await this.ibAccount(req.account);
    const coid = coidOf(req.clientOrderId);
    const conid = await this.conidOf(req.account, req.instrument);
    const ticket = orderTicket(req, ib, conid, coid);
    this.exchanges.set(req.instrument.symbol, req.instrument.exchange);
    const fresh = await this.opts.refs.remember(this.name, req.account, coid, req.clientOrderId);
    if (!fresh) {
      // Sent before (a retry after a lost acknowledgement): find it by our id instead of sending twice.
      const existing = await this.getOrder(req.account, { clientOrderId: req.clientOrderId });
      if (existing) return existing;
    }
    await this.brokerage(req.account);
    let answer: unknown;
    try {
      answer = await this.call<unknown>(req.account, placeOrderRequest(ib, ticket), 'place order');
    } catch (err) {
      // IB already has this cOID (placed before a crash that lost our record of it): adopt that order.
      if (err instanceof IbkrRefusal && /already registered|duplicate/i.test(err.reason)) {
        const existing = await this.getOrder(req.account, { clientOrderId: req.clientOrderId });
        if (existing) return existing;
      }
      throw err;
    }
    const ack = await this.settleReplies(req.account, answer, 'place order');
    const orderId = String(ack.order_id);
    await this.link(req.account, req.clientOrderId, orderId);
    const status = ibkrStatus(ack.order_status ?? 'PreSubmitted', '0', req.quantity);
    if (status === 'REJECTED') throw new BrokerRejectedError(`IBKR did not accept the order (${ack.order_status})`);
    return acceptedOrder(req, orderId, status === 'FILLED' || status === 'PARTIALLY_FILLED' ? 'OPEN' : status);
  }

  /** Modify an open order in place (IB keeps its id): the whole ticket again, with the changes. */
  async modifyOrder(account: string, brokerOrderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string; timeInForce?: 'DAY' | 'GTC' | 'IOC' }): Promise<BrokerOrder> {
    const ib = await this.ibAccount(account);
    const cur = await this.call<IbkrOrderStatus>(account, { method: 'GET', path: `/iserver/account/order/status/${encodeURIComponent(brokerOrderId)}` }, 'order status');
    const o = statusToOrder(cur, '', '', new Date());
    if (o.status !== 'OPEN' && o.status !== 'PARTIALLY_FILLED') throw new BrokerRejectedError(`order ${brokerOrderId} is ${o.status} and cannot be modified`);
    const inst = this.instrumentOf(cur.conid) ?? { symbol: o.symbol, exchange: toOurExchange(cur.listing_exchange) };
    const tif = change.timeInForce ?? ((cur.tif ?? 'DAY').toUpperCase() as 'DAY' | 'GTC' | 'IOC');
    const limitPrice = change.limitPrice ?? (cur.limit_price !== undefined ? num(cur.limit_price) : null);
    const instrument = { symbol: inst.symbol, exchange: inst.exchange, currency: 'USD', tickSize: '0.01', lotSize: '1' };
    const full = orderTicket({ clientOrderId: '', account, instrument, side: o.side, type: o.type, timeInForce: tif, quantity: change.quantity ?? o.quantity, limitPrice, stopPrice: change.stopPrice ?? null }, ib, Number(cur.conid), '');
    const ticket: Omit<typeof full, 'cOID'> & { cOID?: string } = { ...full };
    delete ticket.cOID; // a modification repeats the ticket without the client id
    const answer = await this.call<unknown>(account, modifyOrderRequest(ib, brokerOrderId, ticket), 'modify order');
    await this.settleReplies(account, answer, 'modify order');
    return (await this.getOrder(account, { brokerOrderId })) ?? o;
  }

  /**
   * BrokerAdapter.reduceOrder: a modify of the order in place (IB keeps its id) whose ticket carries the
   * new TOTAL quantity (IB's order quantity includes what has filled), price, type and time in force as
   * the order has them (see reduce-by-modify.ts). A stop order's trigger is not in the status IB returns,
   * so a stop is refused here rather than modified without it.
   */
  reduceOrder(account: string, brokerOrderId: string, quantity: string): Promise<BrokerOrder> {
    return reduceByModify(this, account, brokerOrderId, quantity);
  }

  async cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder> {
    const ib = await this.ibAccount(account);
    const current = await this.getOrder(account, { brokerOrderId });
    if (!current) throw new BrokerRejectedError(`order ${brokerOrderId} not found at IBKR`);
    if (current.status !== 'OPEN' && current.status !== 'PARTIALLY_FILLED') throw new BrokerRejectedError(`order ${brokerOrderId} is ${current.status} and cannot be cancelled`);
    // IB answers {"msg":"Request was submitted"}: not a confirmation, so the order is read back.
    await this.call(account, cancelOrderRequest(ib, brokerOrderId), 'cancel order');
    return (await this.getOrder(account, { brokerOrderId })) ?? current;
  }

  async getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null> {
    let orderId: string | null;
    let cid: string | null;
    if ('clientOrderId' in ref) {
      cid = ref.clientOrderId;
      orderId = await this.orderIdOf(account, cid);
      if (!orderId) {
        // Never acknowledged to us (a crash, a lost answer): IB's live orders carry the cOID as order_ref.
        const coid = coidOf(cid);
        const found = (await this.feed.liveOrders(account)).find((o) => o.order_ref === coid);
        if (!found) return null;
        orderId = String(found.orderId);
        await this.link(account, cid, orderId);
      }
    } else {
      orderId = ref.brokerOrderId;
      if (!/^\d+$/.test(orderId)) return null;
      cid = await this.clientIdOfOrder(account, orderId);
    }
    let st: IbkrOrderStatus;
    try {
      st = await this.call<IbkrOrderStatus>(account, { method: 'GET', path: `/iserver/account/order/status/${encodeURIComponent(orderId)}` }, 'order status');
    } catch (err) {
      if (err instanceof IbkrRefusal) return null;
      throw err;
    }
    if (!st || st.order_id === undefined) return null;
    return statusToOrder(st, cid ?? st.order_ref ?? '', this.exchanges.get(st.symbol ?? '') ?? this.instrumentOf(st.conid)?.exchange ?? '', new Date());
  }

  async listOrders(account: string): Promise<BrokerOrder[]> {
    return this.feed.orders(account);
  }

  async getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]> {
    const o = await this.getOrder(account, { brokerOrderId });
    if (!o || dec(o.filledQuantity).isZero()) return [];
    return this.feed.fillsOf(account, o);
  }

  async getPositions(account: string): Promise<BrokerPosition[]> {
    const ib = await this.ibAccount(account);
    await this.portfolio(account);
    const rows = await this.call<IbkrPosition[]>(account, { method: 'GET', path: `/portfolio/${encodeURIComponent(ib)}/positions/0` }, 'positions');
    return (Array.isArray(rows) ? rows : [])
      .filter((p) => !dec(num(p.position)).isZero())
      .map((p) => {
        const known = this.instrumentOf(p.conid);
        return { symbol: known?.symbol ?? p.ticker ?? p.contractDesc ?? String(p.conid), exchange: known?.exchange ?? toOurExchange(p.listingExchange), quantity: num(p.position), averagePrice: num(p.avgPrice ?? p.avgCost) };
      });
  }

  /** Cash of one currency from the ledger; available: the lower of that cash and the account's available funds. */
  async getFunds(account: string, currency = 'USD'): Promise<BrokerFunds> {
    const ib = await this.ibAccount(account);
    await this.portfolio(account);
    const ledger = await this.call<IbkrLedger>(account, { method: 'GET', path: `/portfolio/${encodeURIComponent(ib)}/ledger` }, 'ledger');
    const row = ledger?.[currency.toUpperCase()] ?? ledger?.[currency.toLowerCase()];
    const cash = num(row?.cashbalance);
    const summary = await this.call<IbkrSummary>(account, { method: 'GET', path: `/portfolio/${encodeURIComponent(ib)}/summary` }, 'summary');
    const avail = summary?.availablefunds?.amount;
    const available = avail === undefined || avail === null ? cash : fmt(Decimal.max(0, Decimal.min(cash, num(avail))));
    return { currency: currency.toUpperCase(), cash, available };
  }

  /** GET /iserver/marketdata/snapshot (fields 31 last, 84 bid, 86 ask); the first call may only subscribe. */
  async getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]> {
    const [conn] = await this.opts.sessions.active(this.name);
    if (!conn) throw new BrokerAuthError('no active IBKR connection to quote through');
    const ids = await Promise.all(instruments.map((i) => this.conidOf(conn.connectionId, i)));
    type Snap = { conid: number; '31'?: string; '84'?: string; '86'?: string; _updated?: number };
    let snaps: Snap[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      snaps = await this.call<Snap[]>(conn.connectionId, { method: 'GET', path: '/iserver/marketdata/snapshot', query: { conids: ids.join(','), fields: '31,84,86' } }, 'snapshot');
      if (Array.isArray(snaps) && snaps.every((s) => s['31'] !== undefined)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const clean = (v?: string) => (v === undefined ? null : num(String(v).replace(/^[A-Z]/, '')));
    return instruments.flatMap((i, k) => {
      const s = (Array.isArray(snaps) ? snaps : []).find((x) => Number(x.conid) === ids[k]);
      const last = clean(s?.['31']);
      if (!s || !last || dec(last).lte(0)) return [];
      return [{ symbol: i.symbol, exchange: i.exchange, bid: clean(s['84']), ask: clean(s['86']), last, timestamp: new Date(s._updated ?? Date.now()).toISOString() }];
    });
  }

  /** IBKR Pro fixed commissions are at most 1% of the trade value, and at least USD 1. */
  feeBound(_currency: string, notional: string): string {
    return fmt(Decimal.max(1, dec(notional).mul('0.01')).toDecimalPlaces(2, Decimal.ROUND_UP));
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  emit(e: BrokerEvent): void {
    this.events.emit('event', e);
  }

  /** Whether the gateway websocket is subscribed (tests, health). */
  streamOpen(): boolean {
    return this.feed.streamOpen();
  }

  /** One tickle: keeps the session, re-authenticates, or expires every connection when it is gone. */
  async keepAlive(): Promise<boolean> {
    const s = await this.gateway.tickle();
    if (usable(s)) return true;
    if (await this.gateway.reauthenticate()) {
      this.brokerageReady = false;
      return true;
    }
    await this.sessionGone();
    return false;
  }

  startPolling(intervalMs: number): void {
    this.feed.start(intervalMs);
  }

  poll(): Promise<void> {
    return this.feed.poll();
  }

  async close(): Promise<void> {
    this.feed.stop();
    this.gateway.close();
    this.events.removeAllListeners();
  }
}
