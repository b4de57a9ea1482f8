import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Decimal } from '../../../src/lib/decimal.js';
import { FakeSocketHub } from './socket-hub.js';

/**
 * A fake of the Upstox API on 127.0.0.1, from Upstox's docs and the upstox-python SDK: the OAuth code
 * flow, `Authorization: Bearer`, JSON bodies, v3 order routes, `{status:"success",data}` and
 * `{status:"error",errors:[{errorCode,message,propertyPath,invalidValue}]}`, lowercase order statuses
 * and IST timestamps, order-update webhooks, and the portfolio stream feed (authorize → single-use wss
 * URI → JSON order updates in the webhook's shape). Scriptable like the Kite fake.
 */
export interface UpstoxRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  contentType: string;
  rawBody: string;
  json: Record<string, unknown> | null;
  form: URLSearchParams;
}

interface App {
  apiKey: string;
  apiSecret: string;
  userId: string;
  webhookUrl?: string;
}

type Row = Record<string, unknown>;
const D = (v: unknown) => new Decimal(String(v ?? 0));
const n = (d: Decimal) => Number(d.toFixed());
const istNow = () => new Date(Date.now() + 5.5 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');

export class UpstoxFake {
  readonly requests: UpstoxRequestRecord[] = [];
  url = '';
  private server!: http.Server;
  private readonly apps = new Map<string, App>();
  private readonly codes = new Map<string, string>();
  private readonly tokens = new Map<string, { userId: string; apiKey: string; valid: boolean }>();
  private readonly orders = new Map<string, { row: Row; userId: string; apiKey: string }>();
  private readonly trades: Array<Row & { userId: string }> = [];
  private readonly margin = new Map<string, Decimal>();
  private readonly instruments = new Map<string, { symbol: string; exchange: string; tick: string; bid: string; ask: string; last: string }>();
  private seq = 250105000000001;
  private tradeSeq = 70000001;
  readonly nextOrders: Array<{ reject?: string; fills?: string[] }> = [];
  readonly failNext: Array<{ path: RegExp; status: number; body: unknown; headers?: Record<string, string> }> = [];
  loseNextAck = false;
  duplicatePushes = false;
  dropPushes = false;
  /** The portfolio stream feed's sockets (`silent`, `duplicate`, `drop(userId)`). */
  stream!: FakeSocketHub;
  private readonly streamCodes = new Map<string, string>();

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    // The authorized URI carries a single-use code; the SDK's direct form sends the Bearer token instead.
    this.stream = new FakeSocketHub(this.server, {
      path: '/v2/feed/portfolio-stream-feed',
      auth: (req, url) => {
        const code = url.searchParams.get('code') ?? '';
        const byCode = this.streamCodes.get(code);
        if (byCode) {
          this.streamCodes.delete(code);
          return byCode;
        }
        const t = this.tokens.get(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
        return t?.valid ? t.userId : null;
      },
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.stream.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  addApp(app: App, cash = '1000000'): void {
    this.apps.set(app.apiKey, app);
    this.margin.set(app.userId, D(cash));
  }

  issueToken(apiKey: string): string {
    const t = randomBytes(16).toString('hex');
    this.tokens.set(t, { apiKey, userId: this.apps.get(apiKey)!.userId, valid: true });
    return t;
  }

  expireTokens(apiKey?: string): void {
    for (const t of this.tokens.values()) if (!apiKey || t.apiKey === apiKey) t.valid = false;
  }

  /** An instrument by its Upstox key (`NSE_EQ|INE009A01021`) with its quote. */
  addInstrument(key: string, i: { symbol: string; exchange: string; tick?: string; bid: string; ask: string; last: string }): void {
    this.instruments.set(key, { tick: '0.05', ...i });
  }

  fillRest(orderId: string): void {
    const o = this.orders.get(orderId)!;
    this.fill(o, D(o.row.pending_quantity));
    void this.push(o);
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private error(res: http.ServerResponse, status: number, code: string, message: string, prop: string | null = null): void {
    this.send(res, status, { status: 'error', errors: [{ errorCode: code, message, propertyPath: prop, invalidValue: null, error_code: code, property_path: prop, invalid_value: null }] });
  }

  private ok(res: http.ServerResponse, data: unknown, extra: Record<string, unknown> = {}): void {
    this.send(res, 200, { status: 'success', data, ...extra });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    const contentType = String(req.headers['content-type'] ?? '');
    let json: Record<string, unknown> | null = null;
    if (contentType.includes('application/json') && rawBody) json = JSON.parse(rawBody) as Record<string, unknown>;
    const form = new URLSearchParams(contentType.includes('x-www-form-urlencoded') ? rawBody : '');
    const rec: UpstoxRequestRecord = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, contentType, rawBody, json, form };
    this.requests.push(rec);
    const i = this.failNext.findIndex((f) => f.path.test(`${rec.method} ${rec.path}`));
    if (i >= 0) {
      const [f] = this.failNext.splice(i, 1);
      return this.send(res, f.status, f.body, f.headers);
    }
    if (rec.method === 'GET' && rec.path === '/v2/login/authorization/dialog') {
      const app = this.apps.get(u.searchParams.get('client_id') ?? '');
      if (!app || u.searchParams.get('response_type') !== 'code') return this.error(res, 400, 'UDAPI100068', 'Check your client_id and redirect_uri');
      const code = randomBytes(6).toString('hex');
      this.codes.set(code, app.apiKey);
      const back = new URL(u.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      if (u.searchParams.get('state')) back.searchParams.set('state', u.searchParams.get('state')!);
      res.writeHead(302, { Location: back.toString() });
      return void res.end();
    }
    if (rec.method === 'POST' && rec.path === '/v2/login/authorization/token') {
      const app = this.apps.get(form.get('client_id') ?? '');
      const code = form.get('code') ?? '';
      if (!app || this.codes.get(code) !== app.apiKey || form.get('client_secret') !== app.apiSecret || form.get('grant_type') !== 'authorization_code') {
        return this.error(res, 401, 'UDAPI100069', 'Check your client_id, client_secret and code');
      }
      this.codes.delete(code);
      return this.send(res, 200, { email: 'x@example.com', exchanges: ['NSE'], products: ['D', 'I'], broker: 'UPSTOX', user_id: app.userId, user_name: 'Fake', order_types: ['MARKET', 'LIMIT', 'SL', 'SL-M'], user_type: 'individual', poa: false, is_active: true, access_token: this.issueToken(app.apiKey), extended_token: null });
    }
    const m = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const tok = m ? this.tokens.get(m[1]) : undefined;
    if (!tok || !tok.valid) return this.error(res, 401, 'UDAPI100050', 'Invalid token used to access API');
    const user = tok.userId;
    if ((rec.method === 'POST' || rec.method === 'PUT') && !json) return this.error(res, 400, 'UDAPI1000', 'Request body must be JSON');
    const q = u.searchParams;
    if (rec.method === 'POST' && rec.path === '/v3/order/place') return this.place(user, tok.apiKey, json!, res);
    if (rec.method === 'PUT' && rec.path === '/v3/order/modify') return this.modify(user, json!, res);
    if (rec.method === 'DELETE' && rec.path === '/v3/order/cancel') return this.cancel(user, q.get('order_id') ?? '', res);
    if (req.headers['api-version'] !== '2.0') return this.error(res, 400, 'UDAPI100001', 'Api-Version header is required');
    if (rec.method === 'GET' && rec.path === '/v2/feed/portfolio-stream-feed/authorize') {
      const code = randomBytes(12).toString('hex');
      this.streamCodes.set(code, user);
      const ws = `${this.url.replace(/^http/, 'ws')}/v2/feed/portfolio-stream-feed?requestId=${randomBytes(4).toString('hex')}&code=${code}`;
      return this.ok(res, { authorized_redirect_uri: ws });
    }
    if (rec.method === 'GET' && rec.path === '/v2/order/retrieve-all') return this.ok(res, this.mine(user).map((o) => o.row));
    if (rec.method === 'GET' && rec.path === '/v2/order/details') {
      const o = this.orders.get(q.get('order_id') ?? '');
      if (!o || o.userId !== user) return this.error(res, 400, 'UDAPI100010', 'Order not found', 'order_id');
      return this.ok(res, o.row);
    }
    if (rec.method === 'GET' && rec.path === '/v2/order/trades') return this.ok(res, this.tradesOf(user, q.get('order_id') ?? ''));
    if (rec.method === 'GET' && rec.path === '/v2/order/trades/get-trades-for-day') return this.ok(res, this.tradesOf(user));
    if (rec.method === 'GET' && rec.path === '/v2/portfolio/short-term-positions') return this.ok(res, this.positions(user));
    if (rec.method === 'GET' && rec.path === '/v2/portfolio/long-term-holdings') return this.ok(res, []);
    if (rec.method === 'GET' && rec.path === '/v2/user/get-funds-and-margin') {
      return this.ok(res, { equity: { used_margin: 0, payin_amount: 0, span_margin: 0, adhoc_margin: 0, notional_cash: 0, available_margin: n(this.margin.get(user) ?? D(0)), exposure_margin: 0 } });
    }
    if (rec.method === 'GET' && rec.path === '/v2/market-quote/quotes') {
      const out: Record<string, unknown> = {};
      for (const key of (q.get('instrument_key') ?? '').split(',')) {
        const i = this.instruments.get(key);
        if (i) out[`${i.exchange}_EQ:${i.symbol}`] = { instrument_token: key, symbol: i.symbol, last_price: Number(i.last), depth: { buy: [{ price: Number(i.bid), quantity: 100, orders: 1 }], sell: [{ price: Number(i.ask), quantity: 100, orders: 1 }] } };
      }
      return this.ok(res, out);
    }
    return this.error(res, 404, 'UDAPI100000', 'Not found');
  }

  private mine(user: string) {
    return [...this.orders.values()].filter((o) => o.userId === user);
  }

  private tradesOf(user: string, orderId?: string): Row[] {
    return this.trades.filter((t) => t.userId === user && (!orderId || t.order_id === orderId)).map(({ userId: _u, ...t }) => t);
  }

  private positions(user: string): Row[] {
    const by = new Map<string, { sym: string; ex: string; key: string; qty: Decimal; cost: Decimal }>();
    for (const t of this.trades.filter((x) => x.userId === user)) {
      const p = by.get(String(t.instrument_token)) ?? { sym: String(t.trading_symbol), ex: String(t.exchange), key: String(t.instrument_token), qty: D(0), cost: D(0) };
      const q = D(t.quantity).mul(t.transaction_type === 'BUY' ? 1 : -1);
      p.qty = p.qty.plus(q);
      p.cost = p.cost.plus(q.mul(D(t.average_price)));
      by.set(p.key, p);
    }
    return [...by.values()].map((p) => ({ exchange: p.ex, trading_symbol: p.sym, tradingsymbol: p.sym, instrument_token: p.key, product: 'D', quantity: n(p.qty), average_price: p.qty.isZero() ? 0 : n(p.cost.div(p.qty).toDecimalPlaces(2)), pnl: 0 }));
  }

  private place(user: string, apiKey: string, b: Record<string, unknown>, res: http.ServerResponse): void {
    const inst = this.instruments.get(String(b.instrument_token ?? ''));
    if (!inst) return this.error(res, 400, 'UDAPI100011', 'Invalid Instrument key', 'instrument_token');
    if (!Number.isInteger(b.quantity) || (b.quantity as number) <= 0) return this.error(res, 400, 'UDAPI100036', 'Invalid quantity', 'quantity');
    if (!['MARKET', 'LIMIT', 'SL', 'SL-M'].includes(String(b.order_type))) return this.error(res, 400, 'UDAPI100022', 'Invalid order_type', 'order_type');
    if (!['D', 'I', 'MTF'].includes(String(b.product))) return this.error(res, 400, 'UDAPI100021', 'Invalid product', 'product');
    if ((b.order_type === 'LIMIT' || b.order_type === 'SL') && !D(b.price).mod(inst.tick).isZero()) return this.error(res, 400, 'UDAPI100037', `Price should be a multiple of tick size ${inst.tick}`, 'price');
    if ((b.order_type === 'LIMIT' || b.order_type === 'SL') && !(Number(b.price) > 0)) return this.error(res, 400, 'UDAPI100037', 'Invalid price', 'price');
    const id = String(this.seq++);
    const now = istNow();
    const o = {
      userId: user,
      apiKey,
      row: {
        exchange: inst.exchange, product: b.product, price: b.price ?? 0, quantity: b.quantity, status: 'put order req received', guid: randomBytes(6).toString('hex'), tag: b.tag ?? null,
        instrument_token: b.instrument_token, placed_by: user, tradingsymbol: inst.symbol, trading_symbol: inst.symbol, order_type: b.order_type, validity: b.validity ?? 'DAY',
        trigger_price: b.trigger_price ?? 0, disclosed_quantity: 0, transaction_type: b.transaction_type, average_price: 0, filled_quantity: 0, pending_quantity: b.quantity,
        status_message: null, status_message_raw: null, exchange_order_id: null, parent_order_id: null, order_id: id, variety: 'SIMPLE', order_timestamp: now, exchange_timestamp: null, is_amo: false, order_request_id: '1', order_ref_id: `ref-${id}`,
      } as Row,
    };
    this.orders.set(id, o);
    const script = this.nextOrders.shift() ?? {};
    if (script.reject) Object.assign(o.row, { status: 'rejected', status_message: script.reject });
    else {
      Object.assign(o.row, { status: 'open', exchange_order_id: `13000${id.slice(-8)}`, exchange_timestamp: now });
      if (this.marketable(o.row)) for (const c of script.fills ?? [String(b.quantity)]) this.fill(o, D(c));
    }
    if (this.loseNextAck) {
      this.loseNextAck = false;
      res.socket?.destroy();
    } else this.ok(res, { order_ids: [id] }, { metadata: { latency: 12 } });
    void this.push(o);
  }

  private marketable(row: Row): boolean {
    const i = this.instruments.get(String(row.instrument_token))!;
    if (row.order_type === 'MARKET') return true;
    if (row.order_type !== 'LIMIT') return false;
    return row.transaction_type === 'BUY' ? D(row.price).gte(i.ask) : D(row.price).lte(i.bid);
  }

  private fill(o: { row: Row; userId: string }, qty: Decimal): void {
    const i = this.instruments.get(String(o.row.instrument_token))!;
    const px = D(o.row.transaction_type === 'BUY' ? i.ask : i.bid);
    const take = Decimal.min(qty, D(o.row.pending_quantity));
    if (take.lte(0)) return;
    const before = D(o.row.filled_quantity);
    const filled = before.plus(take);
    const avg = D(o.row.average_price).mul(before).plus(px.mul(take)).div(filled).toDecimalPlaces(2);
    this.trades.push({
      userId: o.userId, exchange: o.row.exchange, product: o.row.product, tradingsymbol: o.row.tradingsymbol, trading_symbol: o.row.trading_symbol, instrument_token: o.row.instrument_token,
      order_type: o.row.order_type, transaction_type: o.row.transaction_type, quantity: n(take), exchange_order_id: o.row.exchange_order_id, order_id: o.row.order_id,
      exchange_timestamp: istNow(), average_price: n(px), trade_id: String(this.tradeSeq++), order_ref_id: o.row.order_ref_id, order_timestamp: o.row.order_timestamp,
    });
    this.margin.set(o.userId, (this.margin.get(o.userId) ?? D(0)).minus(px.mul(take).mul(o.row.transaction_type === 'BUY' ? 1 : -1)));
    const rest = D(o.row.pending_quantity).minus(take);
    Object.assign(o.row, { status: rest.isZero() ? 'complete' : 'open', filled_quantity: n(filled), pending_quantity: n(rest), average_price: n(avg) });
  }

  private modify(user: string, b: Record<string, unknown>, res: http.ServerResponse): void {
    const o = this.orders.get(String(b.order_id ?? ''));
    if (!o || o.userId !== user) return this.error(res, 400, 'UDAPI100010', 'Order not found', 'order_id');
    if (o.row.status !== 'open') return this.error(res, 400, 'UDAPI100040', `Order cannot be modified as it is ${o.row.status}`);
    Object.assign(o.row, { quantity: b.quantity ?? o.row.quantity, price: b.price ?? o.row.price, trigger_price: b.trigger_price ?? o.row.trigger_price });
    o.row.pending_quantity = n(D(o.row.quantity).minus(D(o.row.filled_quantity)));
    if (this.marketable(o.row)) this.fill(o, D(o.row.pending_quantity));
    this.ok(res, { order_id: o.row.order_id }, { metadata: { latency: 10 } });
    void this.push(o);
  }

  private cancel(user: string, id: string, res: http.ServerResponse): void {
    const o = this.orders.get(id);
    if (!o || o.userId !== user) return this.error(res, 400, 'UDAPI100010', 'Order not found', 'order_id');
    if (o.row.status !== 'open' && o.row.status !== 'trigger pending') return this.error(res, 400, 'UDAPI100042', `Order cannot be cancelled as it is ${o.row.status}`);
    Object.assign(o.row, { status: 'cancelled', pending_quantity: 0 });
    this.ok(res, { order_id: id }, { metadata: { latency: 9 } });
    void this.push(o);
  }

  setWebhookUrl(apiKey: string, url: string): void {
    const a = this.apps.get(apiKey);
    if (a) a.webhookUrl = url;
  }

  private async push(o: { row: Row; userId: string; apiKey: string }): Promise<void> {
    const body = { update_type: 'order', user_id: o.userId, ...o.row };
    this.stream.send(o.userId, body);
    const app = this.apps.get(o.apiKey);
    if (!app?.webhookUrl || this.dropPushes) return;
    for (let k = 0; k < (this.duplicatePushes ? 2 : 1); k++) {
      await fetch(app.webhookUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).catch(() => undefined);
    }
  }
}
