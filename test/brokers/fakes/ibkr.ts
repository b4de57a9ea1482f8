import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { Decimal } from '../../../src/lib/decimal.js';

/**
 * A fake of IBKR's Client Portal Gateway (Web API v1) on 127.0.0.1, written from IB's documentation
 * (BROKERS.md §8, interactivebrokers.github.io/cpwebapi, IBKR Campus): everything under /v1/api; the
 * brokerage session (`/tickle`, `/iserver/auth/status`, `/iserver/reauthenticate`, `ssodh/init`; 401
 * when logged out); `/trsrv/stocks` and `/iserver/secdef/search`; orders as `{"orders":[ticket]}` with a
 * `cOID` unique per account, answered by `[{"order_id","order_status","encrypt_message"}]` or by reply
 * messages `[{"id","message":[…],"isSuppressed":false,"messageIds":[…]}]` to answer at
 * `/iserver/reply/{id}`; order status, live orders, trades (execution_id, order_ref, commission), the
 * portfolio (positions/0, ledger, summary), snapshots, and the `/v1/api/ws` socket (`sor+{}`, `str+{}`).
 * It enforces the documented limits: 10 requests/s, 1 per 5 s on the orders and trades lists and on
 * /portfolio/accounts, a 429 and then the penalty box.
 */
export interface IbkrRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  json: unknown;
  rawBody: string;
  contentType: string;
  at: number;
}

interface Order {
  acct: string;
  orderId: number;
  conid: number;
  symbol: string;
  exchange: string;
  side: 'BUY' | 'SELL';
  orderType: string;
  qty: Decimal;
  price?: Decimal;
  aux?: Decimal;
  tif: string;
  coid: string;
  status: string;
  filled: Decimal;
  notional: Decimal;
  updated: number;
}

export interface IbkrOrderScript {
  /** Questions IB asks before placing (each answered at /iserver/reply/{id}). */
  warnings?: Array<{ messageIds: string[]; message: string[] }>;
  /** Fill only these quantities (each its own execution); the rest stays working. */
  fills?: string[];
  /** IB refuses it after acceptance: status Inactive. */
  inactive?: boolean;
}

const D = (v: unknown) => new Decimal(String(v ?? 0));
const s = (d: Decimal) => d.toFixed();

export class IbkrFake {
  readonly requests: IbkrRequestRecord[] = [];
  readonly socketMessages: string[] = [];
  url = '';
  wsUrl = '';
  authenticated = true;
  competing = false;
  /** Whether /iserver/reauthenticate or ssodh/init brings the session back. */
  reauthWorks = true;
  /** Enforce the documented limits with 429s and the penalty box. */
  enforceLimits = true;
  penaltyMs = 600_000;
  penaltyUntil = 0;
  fillDelayMs = 5;
  dropPushes = false;
  duplicatePushes = false;
  readonly nextOrders: IbkrOrderScript[] = [];
  /** Reply ids answered, with the answer. */
  readonly replies: Array<{ id: string; confirmed: boolean }> = [];
  /** Every request refused for breaking a limit, and why. */
  readonly violations: Array<{ path: string; at: number; reason: string }> = [];
  private server!: http.Server;
  private wss!: WebSocketServer;
  private readonly accounts = new Map<string, { cash: Decimal; positions: Map<number, { qty: Decimal; cost: Decimal }> }>();
  private readonly contracts = new Map<string, { conid: number; exchange: string }>();
  private readonly quotes = new Map<number, { bid: string; ask: string; last: string }>();
  private readonly snapshotSeen = new Set<number>();
  private readonly orders = new Map<number, Order>();
  private readonly trades: Array<Record<string, unknown>> = [];
  private readonly pendingReplies = new Map<string, { acct: string; ticket: Record<string, unknown>; warnings: IbkrOrderScript['warnings']; script: IbkrOrderScript }>();
  private readonly sockets = new Map<WebSocket, { orders: boolean; trades: boolean }>();
  private readonly lastList = new Map<string, number>();
  private nextOrderId = 1_900_000_000;
  private nextConid = 265_598;
  private readonly session = randomBytes(16).toString('hex');

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.wss = new WebSocketServer({ server: this.server, path: '/v1/api/ws' });
    this.wss.on('connection', (ws) => this.onSocket(ws));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${port}/v1/api`;
    this.wsUrl = `ws://127.0.0.1:${port}/v1/api/ws`;
    return this;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets.keys()) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  addAccount(id: string, cash = '100000'): void {
    this.accounts.set(id, { cash: D(cash), positions: new Map() });
  }

  addStock(symbol: string, exchange: string, q: { bid: string; ask: string; last: string }): number {
    let c = this.contracts.get(symbol);
    if (!c) this.contracts.set(symbol, (c = { conid: this.nextConid++, exchange }));
    this.quotes.set(c.conid, q);
    return c.conid;
  }

  /** The gateway's session ends (nightly reset, logout); reauthentication no longer helps. */
  logout(): void {
    this.authenticated = false;
    this.reauthWorks = false;
    this.broadcast({ topic: 'sts', args: { authenticated: false } }, () => true);
  }

  /** A network drop: every websocket closes. */
  dropSockets(): void {
    for (const ws of this.sockets.keys()) ws.terminate();
  }

  subscribedSockets(): number {
    return [...this.sockets.values()].filter((x) => x.orders && x.trades).length;
  }

  orderByRef(coid: string): { orderId: number; status: string } | undefined {
    const o = [...this.orders.values()].find((x) => x.coid === coid);
    return o && { orderId: o.orderId, status: o.status };
  }

  /** Fill what is left of an order (or `qty` of it) now, at the quote. */
  fillRest(orderId: number | string, qty?: string): void {
    const o = this.orders.get(Number(orderId))!;
    this.fill(o, qty ? D(qty) : o.qty.minus(o.filled));
  }

  cancelByIb(orderId: number | string, status = 'Cancelled'): void {
    const o = this.orders.get(Number(orderId))!;
    o.status = status;
    o.updated = Date.now();
    this.pushOrder(o);
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  /** The documented limits; true when the request was refused with 429. */
  private limited(path: string, res: http.ServerResponse): boolean {
    if (!this.enforceLimits) return false;
    const now = Date.now();
    if (now < this.penaltyUntil) {
      this.send(res, 429, { error: 'Too many requests' });
      return true;
    }
    const lastSecond = this.requests.filter((r) => r.at > now - 1_000).length;
    const slow = ['/iserver/account/orders', '/iserver/account/trades', '/portfolio/accounts'].find((p) => path === p);
    const tooFast = slow !== undefined && now - (this.lastList.get(slow) ?? 0) < 5_000;
    if (lastSecond > 10 || tooFast) {
      this.penaltyUntil = now + this.penaltyMs;
      this.violations.push({ path, at: now, reason: tooFast ? `${slow} within 5 s` : `${lastSecond} requests in the last second` });
      this.send(res, 429, { error: 'Too many requests' });
      return true;
    }
    if (slow) this.lastList.set(slow, now);
    return false;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    let json: unknown = null;
    try {
      json = rawBody ? JSON.parse(rawBody) : null;
    } catch {
      json = null;
    }
    const path = u.pathname.replace(/^\/v1\/api/, '');
    const m = req.method ?? 'GET';
    this.requests.push({ method: m, path, query: u.searchParams, json, rawBody, contentType: String(req.headers['content-type'] ?? ''), at: Date.now() });
    if (this.limited(path, res)) return;
    const auth = { authenticated: this.authenticated, competing: this.competing, connected: true, message: '', MAC: '00:11:22:33:44:55' };
    if (path === '/tickle' && m === 'POST') return this.send(res, 200, { session: this.session, ssoExpires: 500_000, collission: false, userId: 1, iserver: { authStatus: auth } });
    if (path === '/iserver/auth/status') return this.send(res, 200, auth);
    if (path === '/iserver/reauthenticate' || path === '/iserver/auth/ssodh/init') {
      if (this.reauthWorks) {
        this.authenticated = true;
        this.competing = false;
      }
      return this.send(res, 200, path === '/iserver/reauthenticate' ? { message: 'triggered' } : { ...auth, authenticated: this.authenticated });
    }
    if (!this.authenticated) return this.send(res, 401, { error: 'not authenticated' });
    return this.route(m, path, u.searchParams, json, res);
  }

  private route(m: string, path: string, q: URLSearchParams, json: unknown, res: http.ServerResponse): void {
    let p: RegExpExecArray | null;
    if (m === 'GET' && path === '/iserver/accounts') return this.send(res, 200, { accounts: [...this.accounts.keys()], selectedAccount: [...this.accounts.keys()][0] ?? '' });
    if (m === 'GET' && path === '/portfolio/accounts') return this.send(res, 200, [...this.accounts.keys()].map((id) => ({ id, accountId: id, currency: 'USD', type: 'INDIVIDUAL' })));
    if (m === 'GET' && path === '/trsrv/stocks') {
      const out: Record<string, unknown> = {};
      for (const sym of (q.get('symbols') ?? '').split(',')) {
        const c = this.contracts.get(sym);
        out[sym] = c ? [{ name: `${sym} INC`, assetClass: 'STK', contracts: [{ conid: c.conid, exchange: c.exchange, isUS: true }] }] : [];
      }
      return this.send(res, 200, out);
    }
    if (m === 'POST' && path === '/iserver/secdef/search') {
      const sym = String((json as { symbol?: string })?.symbol ?? '');
      const c = this.contracts.get(sym);
      return this.send(res, 200, c ? [{ conid: String(c.conid), companyHeader: `${sym} INC - ${c.exchange}`, symbol: sym, description: c.exchange }] : []);
    }
    if (m === 'GET' && path === '/iserver/marketdata/snapshot') {
      const rows = (q.get('conids') ?? '').split(',').map(Number).map((conid) => {
        const quote = this.quotes.get(conid);
        if (!this.snapshotSeen.has(conid) || !quote) {
          this.snapshotSeen.add(conid);
          return { conid, conidEx: String(conid) };
        }
        return { conid, conidEx: String(conid), '31': quote.last, '84': quote.bid, '86': quote.ask, _updated: Date.now() };
      });
      return this.send(res, 200, rows);
    }
    if (m === 'POST' && (p = /^\/iserver\/account\/([^/]+)\/orders$/.exec(path))) return this.place(p[1], json, res);
    if (m === 'POST' && (p = /^\/iserver\/reply\/([^/]+)$/.exec(path))) return this.reply(p[1], json, res);
    if ((p = /^\/iserver\/account\/([^/]+)\/order\/(\d+)$/.exec(path))) return m === 'DELETE' ? this.cancel(p[1], Number(p[2]), res) : this.modify(p[1], Number(p[2]), json, res);
    if (m === 'GET' && (p = /^\/iserver\/account\/order\/status\/([^/]+)$/.exec(path))) {
      const o = this.orders.get(Number(p[1]));
      if (!o) return this.send(res, 400, { error: `OrderID ${p[1]} not found` });
      return this.send(res, 200, this.statusRow(o));
    }
    if (m === 'GET' && path === '/iserver/account/orders') {
      const acct = q.get('accountId');
      return this.send(res, 200, { orders: [...this.orders.values()].filter((o) => !acct || o.acct === acct).map((o) => this.liveRow(o)), snapshot: true });
    }
    if (m === 'GET' && path === '/iserver/account/trades') return this.send(res, 200, this.trades);
    if (m === 'GET' && (p = /^\/portfolio\/([^/]+)\/positions\/0$/.exec(path))) {
      const a = this.accounts.get(p[1]);
      if (!a) return this.send(res, 400, { error: 'unknown account' });
      const rows = [...a.positions.entries()].map(([conid, x]) => {
        const sym = [...this.contracts.entries()].find(([, c]) => c.conid === conid)!;
        return { acctId: p![1], conid, contractDesc: sym[0], ticker: sym[0], listingExchange: sym[1].exchange, position: Number(s(x.qty)), avgCost: Number(s(x.qty.isZero() ? D(0) : x.cost.div(x.qty))), avgPrice: Number(s(x.qty.isZero() ? D(0) : x.cost.div(x.qty))), currency: 'USD' };
      });
      return this.send(res, 200, rows);
    }
    if (m === 'GET' && (p = /^\/portfolio\/([^/]+)\/ledger$/.exec(path))) {
      const a = this.accounts.get(p[1]);
      if (!a) return this.send(res, 400, { error: 'unknown account' });
      const row = { cashbalance: Number(s(a.cash)), settledcash: Number(s(a.cash)), netliquidationvalue: Number(s(a.cash)), currency: 'USD' };
      return this.send(res, 200, { USD: row, BASE: { ...row, currency: 'BASE' } });
    }
    if (m === 'GET' && (p = /^\/portfolio\/([^/]+)\/summary$/.exec(path))) {
      const a = this.accounts.get(p[1]);
      if (!a) return this.send(res, 400, { error: 'unknown account' });
      return this.send(res, 200, { availablefunds: { amount: Number(s(a.cash)), currency: 'USD' }, totalcashvalue: { amount: Number(s(a.cash)), currency: 'USD' } });
    }
    return this.send(res, 404, { error: `no route ${m} ${path}` });
  }

  private place(acct: string, body: unknown, res: http.ServerResponse): void {
    const t = (body as { orders?: Array<Record<string, unknown>> })?.orders?.[0];
    if (!this.accounts.has(acct) || !t) return this.send(res, 400, { error: 'invalid request' });
    const script = this.nextOrders.shift() ?? {};
    if (script.warnings?.length) return this.ask(acct, t, script.warnings, script, res);
    this.accept(acct, t, script, res);
  }

  private ask(acct: string, ticket: Record<string, unknown>, warnings: NonNullable<IbkrOrderScript['warnings']>, script: IbkrOrderScript, res: http.ServerResponse): void {
    const [w, ...rest] = warnings;
    const id = randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
    this.pendingReplies.set(id, { acct, ticket, warnings: rest, script });
    this.send(res, 200, [{ id, message: w.message, isSuppressed: false, messageIds: w.messageIds }]);
  }

  private reply(id: string, body: unknown, res: http.ServerResponse): void {
    const pending = this.pendingReplies.get(id);
    if (!pending) return this.send(res, 400, { error: 'reply id not found' });
    this.pendingReplies.delete(id);
    const confirmed = (body as { confirmed?: boolean })?.confirmed === true;
    this.replies.push({ id, confirmed });
    if (!confirmed) return this.send(res, 200, { error: 'Order was not confirmed' });
    if (pending.warnings?.length) return this.ask(pending.acct, pending.ticket, pending.warnings, pending.script, res);
    this.accept(pending.acct, pending.ticket, pending.script, res);
  }

  private accept(acct: string, t: Record<string, unknown>, script: IbkrOrderScript, res: http.ServerResponse): void {
    const conid = Number(t.conid);
    const sym = [...this.contracts.entries()].find(([, c]) => c.conid === conid);
    if (!sym) return this.send(res, 400, { error: `invalid conid ${String(t.conid)}` });
    const qty = D(t.quantity);
    if (!qty.gt(0) || !qty.isInteger()) return this.send(res, 400, { error: 'Invalid quantity' });
    const type = String(t.orderType);
    if (!['MKT', 'LMT', 'STP', 'STOP_LIMIT'].includes(type)) return this.send(res, 400, { error: `invalid orderType ${type}` });
    if (t.price !== undefined && !D(t.price).mul(100).isInteger()) return this.send(res, 400, { error: 'The price does not conform to the minimum price variation for this contract.' });
    const coid = String(t.cOID ?? '');
    if (coid && [...this.orders.values()].some((o) => o.acct === acct && o.coid === coid)) return this.send(res, 400, { error: `Order couldn't be submitted: Local order ID=${coid} is already registered.` });
    const o: Order = {
      acct, orderId: this.nextOrderId++, conid, symbol: sym[0], exchange: sym[1].exchange, side: t.side === 'SELL' ? 'SELL' : 'BUY', orderType: type, qty,
      price: t.price !== undefined ? D(t.price) : undefined, aux: t.auxPrice !== undefined ? D(t.auxPrice) : undefined, tif: String(t.tif ?? 'DAY'), coid,
      status: script.inactive ? 'Inactive' : 'Submitted', filled: D(0), notional: D(0), updated: Date.now(),
    };
    this.orders.set(o.orderId, o);
    this.send(res, 200, [{ order_id: String(o.orderId), order_status: o.status === 'Inactive' ? 'Inactive' : 'PreSubmitted', encrypt_message: '1' }]);
    if (o.status === 'Inactive') return;
    setTimeout(() => {
      this.pushOrder(o);
      const quote = this.quotes.get(o.conid)!;
      const marketable = o.orderType === 'MKT' || (o.orderType === 'LMT' && (o.side === 'BUY' ? o.price!.gte(quote.ask) : o.price!.lte(quote.bid)));
      if (script.fills) for (const f of script.fills) this.fill(o, D(f));
      else if (marketable) this.fill(o, o.qty);
    }, this.fillDelayMs);
  }

  private fill(o: Order, qty: Decimal): void {
    if (qty.lte(0) || !['Submitted', 'PreSubmitted'].includes(o.status)) return;
    const q = this.quotes.get(o.conid)!;
    const price = D(o.side === 'BUY' ? q.ask : q.bid);
    const commission = Decimal.max(1, qty.mul('0.005')).toDecimalPlaces(2);
    o.filled = o.filled.plus(qty);
    o.notional = o.notional.plus(qty.mul(price));
    if (o.filled.gte(o.qty)) o.status = 'Filled';
    o.updated = Date.now();
    const a = this.accounts.get(o.acct)!;
    const pos = a.positions.get(o.conid) ?? { qty: D(0), cost: D(0) };
    if (o.side === 'BUY') {
      a.cash = a.cash.minus(qty.mul(price)).minus(commission);
      a.positions.set(o.conid, { qty: pos.qty.plus(qty), cost: pos.cost.plus(qty.mul(price)) });
    } else {
      a.cash = a.cash.plus(qty.mul(price)).minus(commission);
      const avg = pos.qty.isZero() ? D(0) : pos.cost.div(pos.qty);
      a.positions.set(o.conid, { qty: pos.qty.minus(qty), cost: pos.cost.minus(avg.mul(qty)) });
    }
    const trade = {
      execution_id: `0000e0d5.${randomBytes(4).toString('hex')}.01.01`, symbol: o.symbol, side: o.side === 'BUY' ? 'B' : 'S', order_description: `${o.side === 'BUY' ? 'Bot' : 'Sold'} ${s(qty)} @ ${s(price)} on ISLAND`,
      trade_time: new Date().toISOString(), trade_time_r: Date.now(), size: Number(s(qty)), price: s(price), order_ref: o.coid, submitter: 'user', exchange: 'ISLAND',
      commission: s(commission), net_amount: Number(s(qty.mul(price))), account: o.acct, accountCode: o.acct, company_name: `${o.symbol} INC`, sec_type: 'STK', listing_exchange: o.exchange, conid: String(o.conid), order_id: o.orderId,
    };
    this.trades.push(trade);
    this.pushOrder(o);
    this.broadcast({ topic: 'str', args: [trade] }, (x) => x.trades);
  }

  private cancel(acct: string, orderId: number, res: http.ServerResponse): void {
    const o = this.orders.get(orderId);
    if (!o || o.acct !== acct) return this.send(res, 400, { error: `OrderID ${orderId} not found` });
    if (!['Submitted', 'PreSubmitted'].includes(o.status)) return this.send(res, 400, { error: `OrderID ${orderId} is ${o.status}` });
    o.status = 'Cancelled';
    o.updated = Date.now();
    this.send(res, 200, { msg: 'Request was submitted', order_id: orderId, conid: o.conid, account: acct });
    this.pushOrder(o);
  }

  private modify(acct: string, orderId: number, body: unknown, res: http.ServerResponse): void {
    const o = this.orders.get(orderId);
    const t = body as Record<string, unknown>;
    if (!o || o.acct !== acct || !t) return this.send(res, 400, { error: `OrderID ${orderId} not found` });
    if (!['Submitted', 'PreSubmitted'].includes(o.status)) return this.send(res, 400, { error: `OrderID ${orderId} is ${o.status} and cannot be modified` });
    // The ticket's quantity is the order's total; IB refuses one at or below what has filled.
    if (t.quantity !== undefined && D(t.quantity).lte(o.filled)) return this.send(res, 400, { error: `Order quantity ${String(t.quantity)} is not above the filled ${o.filled.toString()}` });
    if (t.quantity !== undefined) o.qty = D(t.quantity);
    if (t.price !== undefined) o.price = D(t.price);
    o.updated = Date.now();
    this.send(res, 200, [{ order_id: String(orderId), order_status: o.status, encrypt_message: '1' }]);
    this.pushOrder(o);
  }

  private avg(o: Order): string {
    return o.filled.isZero() ? '' : s(o.notional.div(o.filled).toDecimalPlaces(6));
  }

  private statusRow(o: Order): Record<string, unknown> {
    return {
      sub_type: null, request_id: '1', server_id: '0', order_id: o.orderId, conidex: String(o.conid), conid: o.conid, symbol: o.symbol, side: o.side === 'BUY' ? 'B' : 'S',
      contract_description_1: o.symbol, listing_exchange: o.exchange, order_status: o.status, order_type: o.orderType === 'MKT' ? 'MARKET' : o.orderType === 'LMT' ? 'LIMIT' : o.orderType,
      size: s(o.qty.minus(o.filled)), total_size: s(o.qty), cum_fill: s(o.filled), average_price: this.avg(o), limit_price: o.price ? s(o.price) : undefined, tif: o.tif, account: o.acct,
    };
  }

  private liveRow(o: Order): Record<string, unknown> {
    return {
      acct: o.acct, conid: o.conid, orderId: o.orderId, ticker: o.symbol, secType: 'STK', listingExchange: o.exchange, status: o.status, side: o.side, orderType: o.orderType === 'MKT' ? 'Market' : o.orderType === 'LMT' ? 'Limit' : o.orderType,
      origOrderType: o.orderType === 'MKT' ? 'MARKET' : o.orderType === 'LMT' ? 'LIMIT' : o.orderType, totalSize: Number(s(o.qty)), filledQuantity: Number(s(o.filled)), remainingQuantity: Number(s(o.qty.minus(o.filled))),
      avgPrice: this.avg(o), price: o.price ? s(o.price) : undefined, order_ref: o.coid, timeInForce: o.tif, lastExecutionTime_r: o.updated,
    };
  }

  private pushOrder(o: Order): void {
    this.broadcast({ topic: 'sor', args: [this.liveRow(o)] }, (x) => x.orders);
  }

  private broadcast(msg: unknown, to: (x: { orders: boolean; trades: boolean }) => boolean): void {
    if (this.dropPushes) return;
    const text = JSON.stringify(msg);
    for (const [ws, x] of this.sockets) {
      if (!to(x)) continue;
      ws.send(text);
      if (this.duplicatePushes) ws.send(text);
    }
  }

  private onSocket(ws: WebSocket): void {
    const state = { orders: false, trades: false };
    this.sockets.set(ws, state);
    ws.send(JSON.stringify({ topic: 'system', success: 'user', isFT: false, isPaper: true }));
    ws.on('message', (raw) => {
      const text = raw.toString();
      this.socketMessages.push(text);
      if (text === 'sor+{}') state.orders = true;
      else if (text === 'str+{}') state.trades = true;
      else if (text === 'uor+{}') state.orders = false;
      else if (text === 'utr+{}') state.trades = false;
    });
    ws.on('close', () => this.sockets.delete(ws));
  }
}
