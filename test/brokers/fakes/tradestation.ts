import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Decimal } from '../../../src/lib/decimal.js';
import { TsSignin, type User } from './tradestation.signin.js';

/**
 * A fake of TradeStation's sign-in (OAuth2 authorization code + refresh tokens, optionally rotating) and
 * API v3 on 127.0.0.1, written from api.tradestation.com/docs: `GET /authorize` redirects back with
 * `code` and `state`; `POST /oauth/token` (form) answers `{access_token, refresh_token, expires_in, ...}`;
 * `/v3/brokerage/accounts[/{ids}/orders|historicalorders|positions|balances]`, `/v3/orderexecution/orders`
 * (POST, PUT /{id}, DELETE /{id}) answering `{"Orders":[{"OrderID","Message"}]}`, errors `{"Error","Message"}`,
 * `/v3/marketdata/quotes/{symbols}`, and the chunked HTTP streams `/v3/brokerage/stream/accounts/{ids}/orders`
 * and `/positions` (snapshot, `{"StreamStatus":"EndSnapshot"}`, `{"Heartbeat"}`, `{"StreamStatus":"GoAway"}`).
 * The positions stream sends, after each execution, the position of its symbol in the REST shape; a
 * position brought to zero is sent once more as closed (how is undocumented: `closedPositionAs` picks
 * `Quantity: "0"` or the last state flagged `Deleted: true`).
 * Order statuses move ACK → OPN → FPR/FLL, OUT on cancel, FLP for an IOC remainder, EXP, REJ. Quotas: 250
 * requests per category per user in fixed 5-minute windows, then 429. Every number is a string.
 * Scriptable: partial fills, rejections, failures, a lost acknowledgement, lost or duplicate pushes,
 * stream drops and GoAway, short-lived tokens.
 */

export interface TsRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  contentType: string;
  rawBody: string;
  json: Record<string, unknown> | null;
  form: URLSearchParams | null;
}


type Row = Record<string, unknown> & { OrderID: string; AccountID: string; Status: string; OrderType: string; Legs: Array<Record<string, string>>; CommissionFee: string; FilledPrice: string };

interface Order {
  user: User;
  row: Row;
  symbol: string;
  side: 'BUY' | 'SELL';
  qty: Decimal;
  filled: Decimal;
}

export interface TsOrderScript {
  /** Reject (status REJ) with this reason. */
  reject?: string;
  /** Fill only these quantities (each its own execution); the rest stays open. */
  fills?: string[];
}

const D = (v: unknown) => new Decimal(String(v ?? 0));
const s = (d: Decimal) => d.toFixed();
const LIVE = new Set(['ACK', 'OPN', 'FPR', 'DON', 'UCN']);
const DURATIONS = new Set(['DAY', 'DYP', 'GTC', 'GCP', 'GTD', 'GDP', 'OPG', 'CLO', 'IOC', 'FOK', '1', '3', '5']);

export class TradeStationFake {
  readonly requests: TsRequestRecord[] = [];
  url = '';
  baseUrl = '';
  loginUrl = '';
  private server!: http.Server;
  /** The sign-in server: API keys, codes, access and refresh tokens. */
  readonly signin = new TsSignin((res, status, body) => this.send(res, status, body));
  private readonly users = this.signin.users;
  private readonly orders = new Map<string, Order>();
  private readonly quotes = new Map<string, { bid: string; ask: string; last: string }>();
  private readonly streams = new Set<{ user: User; kind: 'orders' | 'positions'; res: http.ServerResponse }>();
  private seq = 1_000_000;
  /** Requests per category per user per 5 minutes (documented 250). */
  quotaPerWindow = 250;
  readonly nextOrders: TsOrderScript[] = [];
  readonly failNext: Array<{ path: RegExp; status: number; body: unknown; headers?: Record<string, string> }> = [];
  loseNextAck = false;
  dropPushes = false;
  duplicatePushes = false;
  heartbeatMs = 1_000;
  /** Commission per share, at least `minCommission` per execution (TradeStation per-share pricing). */
  commissionPerShare = '0.01';
  minCommission = '1';
  fillDelayMs = 5;
  /** Delay of the placement reply: executions can then reach the stream before the acknowledgement. */
  ackDelayMs = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  /** How the positions stream reports a position brought to zero (undocumented; both are handled). */
  closedPositionAs: 'zero' | 'deleted' = 'zero';
  /** The last position state sent on a positions stream, by user and symbol. */
  private readonly lastPosition = new Map<string, Record<string, string>>();

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.baseUrl = `${this.url}/v3`;
    this.loginUrl = `${this.url}/authorize`;
    this.heartbeat = setInterval(() => {
      for (const st of this.streams) this.write(st.res, { Heartbeat: 1, Timestamp: new Date().toISOString() });
    }, this.heartbeatMs);
    this.heartbeat.unref();
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const st of this.streams) st.res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** A TradeStation login with an API key (client id and secret) and one Margin account in USD. */
  addUser(o: { clientId: string; clientSecret: string; cash?: string; rotating?: boolean; accessTtlSec?: number }): { accountId: string } {
    const accountId = `11${Math.floor(Math.random() * 1e6).toString().padStart(6, '0')}`;
    this.users.set(o.clientId, { clientId: o.clientId, clientSecret: o.clientSecret, accountId, cash: D(o.cash ?? '100000'), rotating: Boolean(o.rotating), accessTtlSec: o.accessTtlSec ?? 1200, refreshTokens: new Set(), quota: new Map() });
    return { accountId };
  }

  issueTokens(clientId: string): { accessToken: string; refreshToken: string; accountId: string } {
    return this.signin.issueTokens(clientId);
  }

  refreshTokensOf(clientId: string): string[] {
    return this.signin.refreshTokensOf(clientId);
  }

  /** Token requests of a grant type for a client id. */
  grants(clientId: string, grantType: string): TsRequestRecord[] {
    return this.requests.filter((r) => r.path === '/oauth/token' && r.form?.get('client_id') === clientId && r.form?.get('grant_type') === grantType);
  }

  revokeRefresh(clientId: string): void {
    this.signin.revokeRefresh(clientId);
  }

  revokeAccess(clientId: string): void {
    this.signin.revokeAccess(clientId);
  }

  setQuote(symbol: string, q: { bid: string; ask: string; last: string }): void {
    this.quotes.set(symbol, q);
  }

  orderIds(clientId?: string): string[] {
    return [...this.orders.values()].filter((o) => !clientId || o.user.clientId === clientId).map((o) => o.row.OrderID);
  }

  openStreams(clientId?: string, kind: 'orders' | 'positions' = 'orders'): number {
    return [...this.streams].filter((st) => st.kind === kind && (!clientId || st.user.clientId === clientId)).length;
  }

  /** Cut every stream's connection (a network drop). */
  dropStreams(): void {
    for (const st of this.streams) st.res.destroy();
  }

  /** Streams open now go quiet (no heartbeat, no update) without closing: a half-dead connection. */
  silence(): void {
    for (const st of this.streams) this.muted.add(st.res);
  }

  /** Ask every stream client to reconnect (`{"StreamStatus":"GoAway"}`, then the response ends). */
  goAway(): void {
    for (const st of this.streams) {
      this.write(st.res, { StreamStatus: 'GoAway' });
      st.res.end();
    }
  }

  fillRest(orderId: string, qty?: string): void {
    const o = this.orders.get(orderId)!;
    this.fill(o, qty ? D(qty) : o.qty.minus(o.filled));
  }

  expire(orderId: string): void {
    const o = this.orders.get(orderId)!;
    this.set(o, 'EXP', 'Expired', { ClosedDateTime: new Date().toISOString() });
  }

  private readonly muted = new WeakSet<http.ServerResponse>();

  private write(res: http.ServerResponse, msg: unknown): void {
    if (!res.writableEnded && !this.muted.has(res)) res.write(JSON.stringify(msg) + '\n');
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
    res.end(body === null ? '' : JSON.stringify(body));
  }

  private err(res: http.ServerResponse, status: number, error: string, message: string, headers: Record<string, string> = {}): void {
    this.send(res, status, { Error: error, Message: message }, headers);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', this.url);
    const contentType = String(req.headers['content-type'] ?? '');
    let json: Record<string, unknown> | null = null;
    let form: URLSearchParams | null = null;
    if (contentType.includes('json') && rawBody) {
      try {
        json = JSON.parse(rawBody);
      } catch {
        return this.err(res, 400, 'BadRequest', 'malformed JSON');
      }
    }
    if (contentType.includes('x-www-form-urlencoded')) form = new URLSearchParams(rawBody);
    const rec: TsRequestRecord = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, contentType, rawBody, json, form };
    this.requests.push(rec);

    if (rec.method === 'GET' && rec.path === '/authorize') return this.signin.authorize(u, res);
    if (rec.method === 'POST' && rec.path === '/oauth/token') return this.signin.token(form ?? new URLSearchParams(), res);
    if (!rec.path.startsWith('/v3/')) return this.err(res, 404, 'NotFound', 'not found');

    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const who = this.signin.userOf(token);
    if ('error' in who) return this.err(res, 401, 'Unauthorized', who.error);
    const user = who.user;
    const path = rec.path.slice(3);
    const cat = category(path);
    if (cat) {
      const q = user.quota.get(cat) ?? { start: Date.now(), count: 0 };
      if (Date.now() - q.start >= 300_000) Object.assign(q, { start: Date.now(), count: 0 });
      user.quota.set(cat, q);
      if (q.count >= this.quotaPerWindow) return this.err(res, 429, 'TooManyRequests', 'Quota exceeded');
      q.count++;
    }
    const scripted = this.failNext.findIndex((f) => f.path.test(`${rec.method} ${path}`));
    if (scripted >= 0) {
      const [f] = this.failNext.splice(scripted, 1);
      return this.send(res, f.status, f.body, f.headers);
    }
    const ok = (body: unknown) => this.send(res, 200, body);
    const mine = () => [...this.orders.values()].filter((o) => o.user === user);
    const acct = (ids: string) => ids.split(',').includes(user.accountId);
    let m: RegExpExecArray | null;

    if (rec.method === 'GET' && path === '/brokerage/accounts') {
      return ok({ Accounts: [{ AccountID: user.accountId, Currency: 'USD', Status: 'Active', AccountType: 'Margin', AccountDetail: { DayTradingQualified: true, PatternDayTrader: false, OptionApprovalLevel: 0 } }] });
    }
    if ((m = /^\/brokerage\/stream\/accounts\/([^/]+)\/(orders|positions)$/.exec(path)) && rec.method === 'GET') {
      if (!acct(m[1])) return this.err(res, 400, 'BadRequest', 'invalid account');
      return this.openStream(user, m[2] as 'orders' | 'positions', res);
    }
    if ((m = /^\/brokerage\/accounts\/([^/]+)\/(orders|historicalorders)(?:\/([^/]+))?$/.exec(path)) && rec.method === 'GET') {
      if (!acct(m[1])) return this.err(res, 400, 'BadRequest', 'invalid account');
      const historical = m[2] === 'historicalorders';
      if (historical && !u.searchParams.get('since')) return this.err(res, 400, 'BadRequest', 'since is required');
      let rows = mine().filter((o) => (historical ? !LIVE.has(o.row.Status) : true));
      if (m[3]) {
        const ids = m[3].split(',');
        rows = rows.filter((o) => ids.includes(o.row.OrderID));
        const errors = ids.filter((id) => !rows.some((o) => o.row.OrderID === id)).map((id) => ({ AccountID: user.accountId, OrderID: id, Error: 'NotFound', Message: 'Order not found' }));
        return ok({ Orders: rows.map((o) => this.view(o)), ...(errors.length ? { Errors: errors } : {}) });
      }
      // Newest first, pages of pageSize with a NextToken.
      rows = rows.reverse();
      const size = Number(u.searchParams.get('pageSize') ?? 600);
      const from = Number(u.searchParams.get('nextToken') ?? 0);
      const page = rows.slice(from, from + size);
      return ok({ Orders: page.map((o) => this.view(o)), ...(from + size < rows.length ? { NextToken: String(from + size) } : {}) });
    }
    if ((m = /^\/brokerage\/accounts\/([^/]+)\/positions$/.exec(path)) && rec.method === 'GET') {
      if (!acct(m[1])) return this.err(res, 400, 'BadRequest', 'invalid account');
      return ok({ Positions: this.positions(user) });
    }
    if ((m = /^\/brokerage\/accounts\/([^/]+)\/balances$/.exec(path)) && rec.method === 'GET') {
      if (!acct(m[1])) return this.err(res, 400, 'BadRequest', 'invalid account');
      return ok({ Balances: [{ AccountID: user.accountId, AccountType: 'Margin', CashBalance: s(user.cash), BuyingPower: s(user.cash.mul(2)), Equity: s(user.cash), MarketValue: '0', TodaysProfitLoss: '0', UnclearedDeposit: '0', Commission: '0' }] });
    }
    if (rec.method === 'POST' && path === '/orderexecution/orders') return this.place(user, json ?? {}, res);
    if ((m = /^\/orderexecution\/orders\/([^/]+)$/.exec(path))) {
      const o = this.orders.get(m[1]);
      if (!o || o.user !== user) return this.err(res, 404, 'NotFound', 'Order not found');
      if (rec.method === 'DELETE') {
        if (!LIVE.has(o.row.Status)) return this.err(res, 400, 'BadRequest', `Order cannot be canceled: ${o.row.Status}`);
        this.set(o, 'OUT', 'UROut', { ClosedDateTime: new Date().toISOString() });
        return ok({ OrderID: o.row.OrderID, Message: 'Cancel request sent' });
      }
      if (rec.method === 'PUT') return this.replace(o, json ?? {}, res);
    }
    if ((m = /^\/marketdata\/quotes\/([^/]+)$/.exec(path)) && rec.method === 'GET') {
      const t2 = new Date().toISOString();
      const Quotes = decodeURIComponent(m[1])
        .split(',')
        .flatMap((sym) => {
          const q = this.quotes.get(sym);
          return q ? [{ Symbol: sym, Bid: q.bid, Ask: q.ask, Last: q.last, TradeTime: t2, Volume: '1000' }] : [];
        });
      return ok({ Quotes });
    }
    return this.err(res, 404, 'NotFound', 'endpoint not found');
  }

  private place(user: User, b: Record<string, unknown>, res: http.ServerResponse): void {
    const bad = (m: string) => this.err(res, 400, 'BadRequest', m);
    if (b.AccountID !== user.accountId) return bad('Invalid AccountID');
    const symbol = String(b.Symbol ?? '');
    if (!this.quotes.has(symbol)) return bad(`Invalid symbol: ${symbol}`);
    if (typeof b.Quantity !== 'string' || !/^\d+$/.test(b.Quantity) || D(b.Quantity).lte(0)) return bad('Quantity must be a positive whole number (string)');
    const type = String(b.OrderType ?? '');
    if (!['Market', 'Limit', 'StopMarket', 'StopLimit'].includes(type)) return bad('Invalid OrderType');
    if (!['BUY', 'SELL', 'SELLSHORT', 'BUYTOCOVER'].includes(String(b.TradeAction))) return bad('Invalid TradeAction');
    const duration = String((b.TimeInForce as { Duration?: string } | undefined)?.Duration ?? '');
    if (!DURATIONS.has(duration)) return bad('Invalid TimeInForce.Duration');
    for (const f of ['LimitPrice', 'StopPrice']) {
      const p = b[f];
      if (p === undefined) continue;
      if (typeof p !== 'string' || !/^\d+(\.\d+)?$/.test(p)) return bad(`${f} must be a decimal string`);
      if (D(p).decimalPlaces() > (D(p).gte(1) ? 2 : 4)) return bad(`${f} ${p} is not a valid price increment`);
    }
    if ((type === 'Limit' || type === 'StopLimit') && b.LimitPrice === undefined) return bad('LimitPrice is required');
    if ((type === 'StopMarket' || type === 'StopLimit') && b.StopPrice === undefined) return bad('StopPrice is required');
    const script = this.nextOrders.shift() ?? {};
    const side = String(b.TradeAction).startsWith('BUY') ? 'BUY' : 'SELL';
    const now = new Date().toISOString();
    const qty = D(b.Quantity);
    const o: Order = {
      user,
      symbol,
      side,
      qty,
      filled: D(0),
      row: {
        AccountID: user.accountId, OrderID: String(this.seq++), Status: 'ACK', StatusDescription: 'Received', OrderType: type, Duration: duration, Currency: 'USD', Routing: String(b.Route ?? 'Intelligent'),
        OpenedDateTime: now, CommissionFee: '0', FilledPrice: '0', PriceUsedForBuyingPower: this.quotes.get(symbol)!.ask, UnbundledRouteFee: '0',
        ...(b.LimitPrice !== undefined ? { LimitPrice: String(b.LimitPrice) } : {}),
        ...(b.StopPrice !== undefined ? { StopPrice: String(b.StopPrice) } : {}),
        Legs: [{ AssetType: 'STOCK', BuyOrSell: side === 'BUY' ? 'Buy' : 'Sell', ExecQuantity: '0', ExecutionPrice: '0', OpenOrClose: side === 'BUY' ? 'Open' : 'Close', QuantityOrdered: s(qty), QuantityRemaining: s(qty), Symbol: symbol }],
      },
    };
    this.orders.set(o.row.OrderID, o);
    this.push(o);
    if (script.reject) {
      this.set(o, 'REJ', 'Rejected', { RejectReason: script.reject, ClosedDateTime: now });
    } else {
      setTimeout(() => {
        if (o.row.Status !== 'ACK') return;
        this.set(o, 'OPN', 'Sent');
        if (this.marketable(o)) {
          if (script.fills) for (const c of script.fills) this.fill(o, D(c));
          else this.fill(o, o.qty);
        }
        if (duration === 'IOC' && LIVE.has(o.row.Status)) this.set(o, o.filled.gt(0) ? 'FLP' : 'OUT', o.filled.gt(0) ? 'Partial Fill (UROut)' : 'UROut', { ClosedDateTime: new Date().toISOString() });
      }, this.fillDelayMs);
    }
    if (this.loseNextAck) {
      this.loseNextAck = false;
      res.socket?.destroy();
      return;
    }
    const reply = { Orders: [{ OrderID: o.row.OrderID, Message: `Sent order: ${side} ${s(qty)} ${symbol} @ ${type}` }] };
    if (this.ackDelayMs > 0) setTimeout(() => this.send(res, 200, reply), this.ackDelayMs);
    else this.send(res, 200, reply);
  }

  private replace(o: Order, b: Record<string, unknown>, res: http.ServerResponse): void {
    if (!['ACK', 'OPN', 'FPR'].includes(o.row.Status)) return this.err(res, 400, 'BadRequest', `Order cannot be replaced: ${o.row.Status}`);
    if (b.Quantity !== undefined) {
      if (typeof b.Quantity !== 'string' || !/^\d+$/.test(b.Quantity) || D(b.Quantity).lte(o.filled)) return this.err(res, 400, 'BadRequest', 'Invalid Quantity');
      o.qty = D(b.Quantity);
      o.row.Legs[0].QuantityOrdered = s(o.qty);
      o.row.Legs[0].QuantityRemaining = s(o.qty.minus(o.filled));
    }
    for (const f of ['LimitPrice', 'StopPrice']) if (b[f] !== undefined) o.row[f] = String(b[f]);
    this.set(o, 'UCH', 'Replaced');
    this.set(o, o.filled.gt(0) ? 'FPR' : 'OPN', o.filled.gt(0) ? 'Partial Fill (Alive)' : 'Sent');
    if (this.marketable(o)) this.fill(o, o.qty.minus(o.filled));
    this.send(res, 200, { Orders: [{ OrderID: o.row.OrderID, Message: 'Cancel/Replace order sent' }] });
  }

  private marketable(o: Order): boolean {
    const q = this.quotes.get(o.symbol)!;
    if (o.row.OrderType === 'Market') return true;
    if (o.row.OrderType !== 'Limit') return false;
    return o.side === 'BUY' ? D(o.row.LimitPrice).gte(q.ask) : D(o.row.LimitPrice).lte(q.bid);
  }

  private set(o: Order, status: string, description: string, extra: Record<string, unknown> = {}): void {
    Object.assign(o.row, { Status: status, StatusDescription: description }, extra);
    this.push(o);
  }

  private fill(o: Order, qty: Decimal): void {
    const q = this.quotes.get(o.symbol)!;
    const take = Decimal.min(qty, o.qty.minus(o.filled));
    if (take.lte(0)) return;
    const px = D(o.side === 'BUY' ? q.ask : q.bid);
    const before = o.filled;
    o.filled = before.plus(take);
    const avg = D(o.row.FilledPrice).mul(before).plus(px.mul(take)).div(o.filled).toDecimalPlaces(6);
    const commission = Decimal.max(D(this.minCommission), take.mul(this.commissionPerShare)).toDecimalPlaces(2);
    o.row.CommissionFee = s(D(o.row.CommissionFee).plus(commission));
    o.row.FilledPrice = s(avg);
    Object.assign(o.row.Legs[0], { ExecQuantity: s(o.filled), ExecutionPrice: s(avg), QuantityRemaining: s(o.qty.minus(o.filled)) });
    o.user.cash = o.user.cash.minus(px.mul(take).mul(o.side === 'BUY' ? 1 : -1)).minus(commission);
    (o.row as Record<string, unknown>).executions = [...((o.row as { executions?: unknown[] }).executions ?? []), { qty: s(take), price: s(px) }];
    const done = o.filled.eq(o.qty);
    this.set(o, done ? 'FLL' : 'FPR', done ? 'Filled' : 'Partial Fill (Alive)', done ? { ClosedDateTime: new Date().toISOString() } : {});
    this.pushPosition(o.user, o.symbol);
  }

  /** A position changed: its new state on the user's positions streams (closed: see closedPositionAs). */
  private pushPosition(user: User, symbol: string): void {
    const key = `${user.clientId}|${symbol}`;
    let msg: Record<string, unknown> | undefined = this.positions(user).find((p) => p.Symbol === symbol);
    if (msg) this.lastPosition.set(key, msg as Record<string, string>);
    else {
      const last = this.lastPosition.get(key);
      if (!last) return;
      this.lastPosition.delete(key);
      msg = this.closedPositionAs === 'deleted' ? { ...last, Timestamp: new Date().toISOString(), Deleted: true } : { ...last, Quantity: '0', MarketValue: '0', TotalCost: '0', Timestamp: new Date().toISOString() };
    }
    for (const st of this.streams) if (st.kind === 'positions' && st.user === user) this.write(st.res, msg);
  }

  /** The order as the REST API shows it (quantities in the legs; no private bookkeeping). */
  private view(o: Order): Record<string, unknown> {
    const { executions: _e, ...row } = o.row as Record<string, unknown>;
    return { ...row, Legs: o.row.Legs.map((l) => ({ ...l })) };
  }

  /** The order as the order stream sends it: the REST shape plus Symbol, Quantity and FilledQuantity. */
  private streamView(o: Order): Record<string, unknown> {
    return { ...this.view(o), Symbol: o.symbol, Quantity: s(o.qty), FilledQuantity: s(o.filled), RemainingQuantity: s(o.qty.minus(o.filled)) };
  }

  private push(o: Order): void {
    if (this.dropPushes) return;
    for (const st of this.streams) {
      if (st.user !== o.user || st.kind !== 'orders') continue;
      this.write(st.res, this.streamView(o));
      if (this.duplicatePushes) this.write(st.res, this.streamView(o));
    }
  }

  private openStream(user: User, kind: 'orders' | 'positions', res: http.ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'application/vnd.tradestation.streams.v2+json', 'Transfer-Encoding': 'chunked' });
    const st = { user, kind, res };
    this.streams.add(st);
    res.on('close', () => this.streams.delete(st));
    const snapshot = kind === 'orders' ? [...this.orders.values()].filter((o) => o.user === user && LIVE.has(o.row.Status)).map((o) => this.streamView(o)) : this.positions(user);
    for (const x of snapshot) this.write(res, x);
    if (kind === 'positions') for (const p of snapshot) this.lastPosition.set(`${user.clientId}|${p.Symbol}`, p as Record<string, string>);
    this.write(res, { StreamStatus: 'EndSnapshot' });
  }

  private positions(user: User): Array<Record<string, string>> {
    const out: Array<Record<string, string>> = [];
    const bySymbol = new Map<string, { qty: Decimal; cost: Decimal; bought: Decimal }>();
    for (const o of this.orders.values()) {
      if (o.user !== user) continue;
      for (const e of ((o.row as { executions?: Array<{ qty: string; price: string }> }).executions ?? [])) {
        const p = bySymbol.get(o.symbol) ?? { qty: D(0), cost: D(0), bought: D(0) };
        const sign = o.side === 'BUY' ? 1 : -1;
        p.qty = p.qty.plus(D(e.qty).mul(sign));
        if (sign > 0) Object.assign(p, { cost: p.cost.plus(D(e.qty).mul(e.price)), bought: p.bought.plus(e.qty) });
        bySymbol.set(o.symbol, p);
      }
    }
    for (const [symbol, p] of bySymbol) {
      if (p.qty.isZero()) continue;
      const q = this.quotes.get(symbol)!;
      const avg = p.bought.isZero() ? D(0) : p.cost.div(p.bought).toDecimalPlaces(4);
      out.push({ AccountID: user.accountId, AssetType: 'STOCK', Symbol: symbol, Quantity: s(p.qty), LongShort: p.qty.gt(0) ? 'Long' : 'Short', AveragePrice: s(avg), Last: q.last, Bid: q.bid, Ask: q.ask, MarketValue: s(p.qty.mul(q.last)), TotalCost: s(p.cost), PositionID: `${user.accountId}-${symbol}`, Timestamp: new Date().toISOString(), TodaysProfitLoss: '0', UnrealizedProfitLoss: '0' });
    }
    return out;
  }
}

/** TradeStation's quota categories (per user, 5-minute windows); order execution has none published. */
function category(path: string): string | null {
  if (path.startsWith('/brokerage/stream/')) return null; // streams: a concurrency limit, not a request quota
  if (path === '/brokerage/accounts') return 'accounts';
  if (/\/(orders|historicalorders)(\/|$)/.test(path) && path.startsWith('/brokerage/')) return 'orders';
  if (path.endsWith('/balances')) return 'balances';
  if (path.endsWith('/positions')) return 'positions';
  if (path.startsWith('/marketdata/quotes/')) return 'quotes';
  return null;
}
