import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { Decimal } from '../../../src/lib/decimal.js';
import { istNow, kiteMargins, kitePositions, kiteQuotes } from './kite.views.js';

/**
 * A fake of Kite Connect v3 on 127.0.0.1, written from Kite's documentation, pykiteconnect and
 * kiteconnect-mocks: form-encoded bodies, `X-Kite-Version: 3`, `Authorization: token api_key:access_token`,
 * `{status:"success",data}` / `{status:"error",message,error_type}` envelopes, Kite's order statuses and
 * IST timestamps, the login redirect with redirect_params, and postbacks with their checksum.
 * Scriptable: partial fills, rejections, 429s, expired tokens, a lost acknowledgement, duplicate pushes.
 */

export interface KiteRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  contentType: string;
  rawBody: string;
  form: URLSearchParams;
}

interface App {
  apiKey: string;
  apiSecret: string;
  userId: string;
  redirectUrl: string;
  postbackUrl?: string;
}

interface Order {
  row: Record<string, unknown>;
  history: Array<Record<string, unknown>>;
  userId: string;
  apiKey: string;
}

export interface OrderScript {
  /** Reject at once with this status_message. */
  reject?: string;
  /** Fill only these quantities now (each its own trade); the rest stays OPEN. */
  fills?: string[];
}

const D = (v: unknown) => new Decimal(String(v ?? 0));
const n = (d: Decimal) => Number(d.toFixed());


export class KiteFake {
  readonly requests: KiteRequestRecord[] = [];
  private server!: http.Server;
  url = '';
  private readonly apps = new Map<string, App>();
  private readonly requestTokens = new Map<string, string>();
  private readonly tokens = new Map<string, { apiKey: string; userId: string; valid: boolean }>();
  private readonly orders = new Map<string, Order>();
  private readonly trades: Array<Record<string, unknown> & { userId: string }> = [];
  private readonly cash = new Map<string, Decimal>();
  private readonly debits = new Map<string, Decimal>();
  private readonly quotes = new Map<string, { bid: string; ask: string; last: string; tick: string }>();
  private seq = 250101000000000;
  private tradeSeq = 50000000;
  /** Scripts for the next orders placed, in order. */
  readonly nextOrders: OrderScript[] = [];
  /** Answer the next matching requests with this status and body (e.g. 429). */
  readonly failNext: Array<{ path: RegExp; status: number; body: unknown; headers?: Record<string, string> }> = [];
  /** Accept the next order, then drop the connection before answering (a lost acknowledgement). */
  loseNextAck = false;
  /** Send every postback twice. */
  duplicatePushes = false;
  /** Send no postbacks (lost pushes). */
  dropPushes = false;
  /** Send no WebSocket order updates. */
  dropStream = false;
  private wss!: WebSocketServer;
  private readonly streams = new Map<string, Set<WebSocket>>();
  /** Order-update sockets opened, by Kite user. */
  streamCount(userId: string): number {
    return this.streams.get(userId)?.size ?? 0;
  }
  readonly pushesSent: unknown[] = [];

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    // The order-update socket: wss://ws.kite.trade?api_key=&access_token= (a wrong token is refused).
    this.wss = new WebSocketServer({
      server: this.server,
      verifyClient: ({ req }, done) => {
        const q = new URL(req.url ?? '/', 'http://x').searchParams;
        const t = this.tokens.get(q.get('access_token') ?? '');
        done(Boolean(t && t.valid && t.apiKey === q.get('api_key')), 403);
      },
    });
    this.wss.on('connection', (ws, req) => {
      const user = this.tokens.get(new URL(req.url ?? '/', 'http://x').searchParams.get('access_token') ?? '')!.userId;
      const set = this.streams.get(user) ?? new Set<WebSocket>();
      set.add(ws);
      this.streams.set(user, set);
      ws.on('close', () => set.delete(ws));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** A developer app (api key + secret) whose user logs in as `userId`. */
  addApp(app: App, cash = '1000000'): void {
    this.apps.set(app.apiKey, app);
    this.cash.set(app.userId, D(cash));
    this.debits.set(app.userId, D(0));
  }

  setPostbackUrl(apiKey: string, url: string): void {
    const a = this.apps.get(apiKey);
    if (a) a.postbackUrl = url;
  }

  /** Skip the login page: a valid access token for this app's user (for adapter tests). */
  issueToken(apiKey: string): string {
    const app = this.apps.get(apiKey)!;
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, { apiKey, userId: app.userId, valid: true });
    return token;
  }

  /** Kite's 06:00 reset: every access token stops working. */
  expireAllTokens(apiKey?: string): void {
    for (const t of this.tokens.values()) if (!apiKey || t.apiKey === apiKey) t.valid = false;
  }

  setQuote(exchange: string, symbol: string, q: { bid: string; ask: string; last: string; tick?: string }): void {
    this.quotes.set(`${exchange}:${symbol}`, { tick: '0.05', ...q });
  }

  orderIds(): string[] {
    return [...this.orders.keys()];
  }

  /** Fill what is left of an open order at the current quote. */
  fillRest(orderId: string, qty?: string): void {
    const o = this.orders.get(orderId)!;
    const pending = D(o.row.pending_quantity);
    this.fill(o, qty ? D(qty) : pending);
    void this.push(o);
  }

  /** Send the current state of an order as a postback now. */
  pushNow(orderId: string): Promise<void> {
    return this.push(this.orders.get(orderId)!);
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private error(res: http.ServerResponse, status: number, errorType: string, message: string): void {
    this.send(res, status, { status: 'error', message, data: null, error_type: errorType });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    const contentType = String(req.headers['content-type'] ?? '');
    const form = new URLSearchParams(contentType.includes('application/x-www-form-urlencoded') ? rawBody : '');
    const rec: KiteRequestRecord = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, contentType, rawBody, form };
    this.requests.push(rec);

    const scripted = this.failNext.findIndex((f) => f.path.test(`${rec.method} ${rec.path}`));
    if (scripted >= 0) {
      const [f] = this.failNext.splice(scripted, 1);
      return this.send(res, f.status, f.body, f.headers);
    }

    if (rec.method === 'GET' && rec.path === '/connect/login') return this.login(rec, res);
    if (req.headers['x-kite-version'] !== '3') return this.error(res, 400, 'InputException', 'X-Kite-Version header is required');
    if (rec.method === 'POST' && rec.path === '/session/token') return this.sessionToken(rec, res);

    const auth = /^token ([^:]+):(.+)$/.exec(String(req.headers.authorization ?? ''));
    const tok = auth ? this.tokens.get(auth[2]) : undefined;
    if (!auth || !tok || tok.apiKey !== auth[1] || !tok.valid) return this.error(res, 403, 'TokenException', 'Incorrect `api_key` or `access_token`.');
    const user = tok.userId;
    if ((rec.method === 'POST' || rec.method === 'PUT') && !contentType.includes('application/x-www-form-urlencoded')) {
      return this.error(res, 400, 'InputException', 'Request body must be form-encoded');
    }

    let m: RegExpExecArray | null;
    if (rec.method === 'POST' && (m = /^\/orders\/(regular|amo|co|iceberg|auction)$/.exec(rec.path))) return this.place(user, tok.apiKey, m[1], form, res);
    if (rec.method === 'PUT' && (m = /^\/orders\/regular\/(\w+)$/.exec(rec.path))) return this.modify(user, m[1], form, res);
    if (rec.method === 'DELETE' && (m = /^\/orders\/regular\/(\w+)$/.exec(rec.path))) return this.cancel(user, m[1], res);
    if (rec.method === 'GET' && rec.path === '/orders') return this.ok(res, this.mine(user).map((o) => o.row));
    if (rec.method === 'GET' && (m = /^\/orders\/(\w+)\/trades$/.exec(rec.path))) return this.ok(res, this.tradesOf(user, m[1]));
    if (rec.method === 'GET' && (m = /^\/orders\/(\w+)$/.exec(rec.path))) {
      const o = this.orders.get(m[1]);
      if (!o || o.userId !== user) return this.error(res, 404, 'GeneralException', "Couldn't find that `order_id`.");
      return this.ok(res, o.history);
    }
    if (rec.method === 'GET' && rec.path === '/trades') return this.ok(res, this.tradesOf(user));
    if (rec.method === 'GET' && rec.path === '/portfolio/positions') return this.ok(res, { net: this.positions(user), day: this.positions(user) });
    if (rec.method === 'GET' && rec.path === '/portfolio/holdings') return this.ok(res, []);
    if (rec.method === 'GET' && rec.path === '/user/margins/equity') return this.ok(res, this.margins(user));
    if (rec.method === 'GET' && rec.path === '/quote') return this.ok(res, this.quoteData(u.searchParams.getAll('i')));
    return this.error(res, 404, 'GeneralException', 'Route not found');
  }

  private ok(res: http.ServerResponse, data: unknown): void {
    this.send(res, 200, { status: 'success', data });
  }

  private login(rec: KiteRequestRecord, res: http.ServerResponse): void {
    const app = this.apps.get(rec.query.get('api_key') ?? '');
    if (!app || rec.query.get('v') !== '3') return this.error(res, 400, 'InputException', 'Invalid api_key');
    const rt = randomBytes(12).toString('hex');
    this.requestTokens.set(rt, app.apiKey);
    const back = new URL(app.redirectUrl);
    back.searchParams.set('action', 'login');
    back.searchParams.set('type', 'login');
    back.searchParams.set('status', 'success');
    back.searchParams.set('request_token', rt);
    for (const [k, v] of new URLSearchParams(rec.query.get('redirect_params') ?? '')) back.searchParams.set(k, v);
    res.writeHead(302, { Location: back.toString() });
    res.end();
  }

  private sessionToken(rec: KiteRequestRecord, res: http.ServerResponse): void {
    const apiKey = rec.form.get('api_key') ?? '';
    const rt = rec.form.get('request_token') ?? '';
    const app = this.apps.get(apiKey);
    if (!app || this.requestTokens.get(rt) !== apiKey) return this.error(res, 403, 'TokenException', 'Token is invalid or has expired.');
    const expected = createHash('sha256').update(apiKey + rt + app.apiSecret).digest('hex');
    if (rec.form.get('checksum') !== expected) return this.error(res, 403, 'TokenException', 'Invalid checksum');
    this.requestTokens.delete(rt);
    const accessToken = this.issueToken(apiKey);
    this.ok(res, { user_id: app.userId, user_name: 'Fake User', api_key: apiKey, access_token: accessToken, public_token: 'pub', refresh_token: '', login_time: istNow() });
  }

  private mine(user: string): Order[] {
    return [...this.orders.values()].filter((o) => o.userId === user);
  }

  private tradesOf(user: string, orderId?: string): unknown[] {
    return this.trades.filter((t) => t.userId === user && (!orderId || t.order_id === orderId)).map(({ userId: _u, ...t }) => t);
  }

  private positions(user: string): unknown[] {
    return kitePositions(this.trades.filter((x) => x.userId === user));
  }

  private margins(user: string): unknown {
    return kiteMargins(this.cash.get(user) ?? D(0), this.debits.get(user) ?? D(0));
  }

  private quoteData(keys: string[]): Record<string, unknown> {
    return kiteQuotes(this.quotes, keys);
  }

  private snapshot(o: Order, status: string, extra: Record<string, unknown> = {}): void {
    Object.assign(o.row, { status, exchange_update_timestamp: istNow() }, extra);
    o.history.push({ ...o.row });
  }

  private place(user: string, apiKey: string, variety: string, f: URLSearchParams, res: http.ServerResponse): void {
    const exchange = f.get('exchange') ?? '';
    const symbol = f.get('tradingsymbol') ?? '';
    const q = this.quotes.get(`${exchange}:${symbol}`);
    const qty = f.get('quantity') ?? '';
    const type = f.get('order_type') ?? '';
    const price = f.get('price');
    const tag = f.get('tag');
    if (!q) return this.error(res, 400, 'InputException', 'Invalid `tradingsymbol`.');
    if (!['BUY', 'SELL'].includes(f.get('transaction_type') ?? '')) return this.error(res, 400, 'InputException', 'Invalid `transaction_type`.');
    if (!['MARKET', 'LIMIT', 'SL', 'SL-M'].includes(type)) return this.error(res, 400, 'InputException', 'Invalid `order_type`.');
    if (!/^[1-9]\d*$/.test(qty)) return this.error(res, 400, 'InputException', 'Invalid `quantity`.');
    if (!['CNC', 'NRML', 'MIS', 'MTF'].includes(f.get('product') ?? '')) return this.error(res, 400, 'InputException', 'Invalid `product`.');
    if (tag !== null && !/^[A-Za-z0-9]{1,20}$/.test(tag)) return this.error(res, 400, 'InputException', 'Invalid `tag`. It should be alphanumeric and at most 20 characters.');
    if ((type === 'LIMIT' || type === 'SL') && (!price || !D(price).mod(q.tick).isZero())) {
      return this.error(res, 400, 'InputException', `Tick size for this script is ${q.tick}. Kindly enter the price in the multiple of tick size for this script`);
    }
    const id = String(this.seq++);
    const now = istNow();
    const o: Order = {
      userId: user,
      apiKey,
      history: [],
      row: {
        order_id: id,
        exchange_order_id: null,
        parent_order_id: null,
        placed_by: user,
        variety,
        status: 'PUT ORDER REQ RECEIVED',
        status_message: null,
        tradingsymbol: symbol,
        exchange,
        instrument_token: 408065,
        transaction_type: f.get('transaction_type'),
        order_type: type,
        product: f.get('product'),
        validity: f.get('validity') ?? 'DAY',
        quantity: Number(qty),
        disclosed_quantity: 0,
        price: price ? Number(price) : 0,
        trigger_price: f.get('trigger_price') ? Number(f.get('trigger_price')) : 0,
        average_price: 0,
        filled_quantity: 0,
        pending_quantity: Number(qty),
        cancelled_quantity: 0,
        tag,
        order_timestamp: now,
        exchange_timestamp: null,
        exchange_update_timestamp: now,
      },
    };
    this.orders.set(id, o);
    o.history.push({ ...o.row });
    this.snapshot(o, 'VALIDATION PENDING');
    this.snapshot(o, 'OPEN PENDING');
    const script = this.nextOrders.shift() ?? {};
    if (script.reject) this.snapshot(o, 'REJECTED', { status_message: script.reject });
    else {
      this.snapshot(o, 'OPEN', { exchange_order_id: `1100000${id.slice(-8)}`, exchange_timestamp: now });
      const chunks = script.fills;
      if (this.marketable(o)) {
        if (chunks) for (const c of chunks) this.fill(o, D(c));
        else this.fill(o, D(qty));
      }
    }
    if (this.loseNextAck) {
      this.loseNextAck = false;
      res.socket?.destroy();
    } else this.ok(res, { order_id: id });
    void this.push(o);
  }

  private marketable(o: Order): boolean {
    const q = this.quotes.get(`${o.row.exchange}:${o.row.tradingsymbol}`)!;
    if (o.row.order_type === 'MARKET') return true;
    if (o.row.order_type !== 'LIMIT') return false;
    return o.row.transaction_type === 'BUY' ? D(o.row.price).gte(q.ask) : D(o.row.price).lte(q.bid);
  }

  private fill(o: Order, qty: Decimal): void {
    const q = this.quotes.get(`${o.row.exchange}:${o.row.tradingsymbol}`)!;
    const px = D(o.row.transaction_type === 'BUY' ? q.ask : q.bid);
    const pending = D(o.row.pending_quantity);
    const take = Decimal.min(qty, pending);
    if (take.lte(0)) return;
    const filledBefore = D(o.row.filled_quantity);
    const filled = filledBefore.plus(take);
    const avg = D(o.row.average_price).mul(filledBefore).plus(px.mul(take)).div(filled).toDecimalPlaces(2);
    const now = istNow();
    this.trades.push({
      userId: o.userId,
      trade_id: String(this.tradeSeq++),
      order_id: o.row.order_id,
      exchange: o.row.exchange,
      tradingsymbol: o.row.tradingsymbol,
      instrument_token: 408065,
      product: o.row.product,
      average_price: n(px),
      quantity: n(take),
      exchange_order_id: o.row.exchange_order_id,
      transaction_type: o.row.transaction_type,
      fill_timestamp: now,
      order_timestamp: String(o.row.order_timestamp).slice(11),
      exchange_timestamp: now,
    });
    const signed = px.mul(take).mul(o.row.transaction_type === 'BUY' ? 1 : -1);
    this.debits.set(o.userId, (this.debits.get(o.userId) ?? D(0)).plus(signed));
    const rest = pending.minus(take);
    this.snapshot(o, rest.isZero() ? 'COMPLETE' : 'OPEN', { filled_quantity: n(filled), pending_quantity: n(rest), average_price: n(avg) });
  }

  private modify(user: string, id: string, f: URLSearchParams, res: http.ServerResponse): void {
    const o = this.orders.get(id);
    if (!o || o.userId !== user) return this.error(res, 400, 'InputException', "Couldn't find that `order_id`.");
    if (o.row.status !== 'OPEN') return this.error(res, 400, 'InputException', `Order cannot be modified as it is ${String(o.row.status).toLowerCase()}.`);
    const change: Record<string, unknown> = {};
    if (f.get('quantity')) change.quantity = Number(f.get('quantity'));
    if (f.get('price')) change.price = Number(f.get('price'));
    if (f.get('trigger_price')) change.trigger_price = Number(f.get('trigger_price'));
    if (f.get('order_type')) change.order_type = f.get('order_type');
    if (change.quantity !== undefined) change.pending_quantity = n(D(change.quantity).minus(D(o.row.filled_quantity)));
    this.snapshot(o, 'MODIFY VALIDATION PENDING');
    this.snapshot(o, 'OPEN', change);
    if (this.marketable(o)) this.fill(o, D(o.row.pending_quantity));
    this.ok(res, { order_id: id });
    void this.push(o);
  }

  private cancel(user: string, id: string, res: http.ServerResponse): void {
    const o = this.orders.get(id);
    if (!o || o.userId !== user) return this.error(res, 400, 'InputException', "Couldn't find that `order_id`.");
    if (o.row.status !== 'OPEN' && o.row.status !== 'TRIGGER PENDING') {
      return this.error(res, 400, 'InputException', `Order cannot be cancelled as it is ${String(o.row.status).toLowerCase()}.`);
    }
    this.snapshot(o, 'CANCEL PENDING');
    this.snapshot(o, 'CANCELLED', { cancelled_quantity: o.row.pending_quantity, pending_quantity: 0 });
    this.ok(res, { order_id: id });
    void this.push(o);
  }

  /** Postback: the order as JSON, with checksum = SHA-256(order_id + order_timestamp + api_secret). */
  private async push(o: Order): Promise<void> {
    if (!this.dropStream) for (const ws of this.streams.get(o.userId) ?? []) ws.send(JSON.stringify({ type: 'order', data: { ...o.row } }));
    const app = this.apps.get(o.apiKey);
    if (!app?.postbackUrl || this.dropPushes) return;
    const checksum = createHash('sha256').update(String(o.row.order_id) + String(o.row.order_timestamp) + app.apiSecret).digest('hex');
    const body = { user_id: o.userId, app_id: 1234, unfilled_quantity: o.row.pending_quantity, checksum, ...o.row, meta: {}, guid: randomBytes(6).toString('hex') };
    this.pushesSent.push(body);
    const times = this.duplicatePushes ? 2 : 1;
    for (let i = 0; i < times; i++) {
      await fetch(app.postbackUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).catch(() => undefined);
    }
  }
}
