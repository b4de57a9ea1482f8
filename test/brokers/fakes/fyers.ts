import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { Decimal } from '../../../src/lib/decimal.js';
import { FakeSocketHub } from './socket-hub.js';

/**
 * A fake of Fyers API v3 on 127.0.0.1, from the Fyers v3 docs and FyersDev/fyers-go-sdk: auth-code flow
 * with appIdHash, refresh with PIN, `Authorization: app_id:access_token`, JSON bodies on /api/v3/orders/sync
 * (POST, PATCH, DELETE), `{s:"ok",code,message,…}` / `{s:"error",code:<negative>,message}`, integer
 * types, sides and statuses. Scriptable: partial fills, rejections, 429s, token expiry, lost acks.
 */
export interface FyersRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  contentType: string;
  json: Record<string, unknown> | null;
  /** When it arrived (ms). */
  at: number;
}

type Row = Record<string, unknown>;
const D = (v: unknown) => new Decimal(String(v ?? 0));
const n = (d: Decimal) => Number(d.toFixed());

export class FyersFake {
  readonly requests: FyersRequestRecord[] = [];
  url = '';
  private server!: http.Server;
  private readonly apps = new Map<string, { appId: string; secret: string; userId: string; pin: string; cash: Decimal }>();
  private readonly codes = new Map<string, string>();
  private readonly refreshTokens = new Map<string, string>();
  private readonly tokens = new Map<string, { appId: string; valid: boolean }>();
  private readonly orders = new Map<string, { row: Row; appId: string }>();
  private readonly trades: Array<Row & { appId: string }> = [];
  private readonly quotes = new Map<string, { bid: string; ask: string; last: string; tick: string }>();
  private seq = 25010500000001;
  private tradeSeq = 90000001;
  readonly nextOrders: Array<{ reject?: string; fills?: string[] }> = [];
  readonly failNext: Array<{ path: RegExp; status: number; body: unknown; headers?: Record<string, string> }> = [];
  loseNextAck = false;
  /** The order socket (`/trade/v3`): `authorization: app_id:token`, SUB_ORD, `__ping`; `silent`, `duplicate`, `drop`. */
  stream!: FakeSocketHub;
  private readonly subscribed = new WeakMap<object, string[]>();

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.stream = new FakeSocketHub(this.server, {
      path: '/trade/v3',
      auth: (req) => {
        const [appId, token] = String(req.headers.authorization ?? '').split(':');
        const t = this.tokens.get(token ?? '');
        return t?.valid && t.appId === appId ? appId : null;
      },
      reply: (_user, text, ws) => {
        if (text === '__ping') return 'pong';
        const m = JSON.parse(text) as { T?: string; SLIST?: string[]; SUB_T?: number };
        if (m.T !== 'SUB_ORD') return undefined;
        this.subscribed.set(ws, m.SUB_T === 1 ? (m.SLIST ?? []) : []);
        return { code: 1605, message: 'Successfully subscribed', s: 'ok' };
      },
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** How many of the app's open sockets have subscribed to order updates (only those get pushes). */
  orderListeners(appId: string): number {
    return this.stream.sockets(appId).filter((ws) => (this.subscribed.get(ws) ?? []).includes('orders')).length;
  }

  async stop(): Promise<void> {
    this.stream.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  addApp(appId: string, secret: string, opts: { userId?: string; pin?: string; cash?: string } = {}): void {
    this.apps.set(appId, { appId, secret, userId: opts.userId ?? 'XF0001', pin: opts.pin ?? '1234', cash: D(opts.cash ?? '1000000') });
  }

  issueToken(appId: string): string {
    const t = randomBytes(16).toString('hex');
    this.tokens.set(t, { appId, valid: true });
    return t;
  }

  expireTokens(appId: string): void {
    for (const t of this.tokens.values()) if (t.appId === appId) t.valid = false;
  }

  setQuote(symbol: string, q: { bid: string; ask: string; last: string; tick?: string }): void {
    this.quotes.set(symbol, { tick: '0.05', ...q });
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }
  private err(res: http.ServerResponse, status: number, code: number, message: string): void {
    this.send(res, status, { s: 'error', code, message });
  }
  private ok(res: http.ServerResponse, body: Row): void {
    this.send(res, 200, { s: 'ok', code: 200, message: '', ...body });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    const contentType = String(req.headers['content-type'] ?? '');
    const json = raw && contentType.includes('json') ? (JSON.parse(raw) as Row) : null;
    const rec: FyersRequestRecord = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, contentType, json, at: Date.now() };
    this.requests.push(rec);
    const i = this.failNext.findIndex((f) => f.path.test(`${rec.method} ${rec.path}`));
    if (i >= 0) {
      const [f] = this.failNext.splice(i, 1);
      return this.send(res, f.status, f.body, f.headers);
    }
    if (rec.method === 'GET' && rec.path === '/api/v3/generate-authcode') {
      const app = this.apps.get(u.searchParams.get('client_id') ?? '');
      if (!app) return this.err(res, 400, -2, 'invalid client_id');
      const code = randomBytes(8).toString('hex');
      this.codes.set(code, app.appId);
      const back = new URL(u.searchParams.get('redirect_uri')!);
      back.searchParams.set('s', 'ok');
      back.searchParams.set('code', '200');
      back.searchParams.set('auth_code', code);
      back.searchParams.set('state', u.searchParams.get('state') ?? '');
      res.writeHead(302, { Location: back.toString() });
      return void res.end();
    }
    const hashOf = (appId: string) => createHash('sha256').update(`${appId}:${this.apps.get(appId)?.secret}`).digest('hex');
    if (rec.method === 'POST' && rec.path === '/api/v3/validate-authcode') {
      const appId = this.codes.get(String(json?.code ?? ''));
      if (!appId || json?.grant_type !== 'authorization_code' || json?.appIdHash !== hashOf(appId)) return this.err(res, 400, -413, 'Invalid auth code or appIdHash');
      this.codes.delete(String(json.code));
      const rt = randomBytes(16).toString('hex');
      this.refreshTokens.set(rt, appId);
      return this.ok(res, { access_token: this.issueToken(appId), refresh_token: rt });
    }
    if (rec.method === 'POST' && rec.path === '/api/v3/validate-refresh-token') {
      const appId = this.refreshTokens.get(String(json?.refresh_token ?? ''));
      if (!appId || json?.appIdHash !== hashOf(appId) || json?.pin !== this.apps.get(appId)?.pin) return this.err(res, 400, -501, 'Invalid refresh token or pin');
      return this.ok(res, { access_token: this.issueToken(appId) });
    }
    const [appId, token] = String(req.headers.authorization ?? '').split(':');
    const tok = this.tokens.get(token ?? '');
    if (!tok || tok.appId !== appId) return this.err(res, 401, -16, 'Could not authenticate the user');
    if (!tok.valid) return this.err(res, 401, -8, 'Your token has expired. Please generate a token');
    const app = this.apps.get(appId)!;
    if (rec.path === '/api/v3/orders/sync') {
      if (!json) return this.err(res, 400, -50, 'Invalid input');
      if (rec.method === 'POST') return this.place(app.appId, json, res);
      if (rec.method === 'PATCH') return this.modify(app.appId, json, res);
      if (rec.method === 'DELETE') return this.cancel(app.appId, json, res);
    }
    if (rec.method === 'GET' && rec.path === '/api/v3/orders') {
      const id = u.searchParams.get('id');
      const mine = [...this.orders.values()].filter((o) => o.appId === appId && (!id || o.row.id === id));
      if (id && mine.length === 0) return this.err(res, 400, -51, 'Invalid order id');
      return this.ok(res, { orderBook: mine.map((o) => o.row) });
    }
    if (rec.method === 'GET' && rec.path === '/api/v3/tradebook') return this.ok(res, { tradeBook: this.trades.filter((t) => t.appId === appId).map(({ appId: _a, ...t }) => t) });
    if (rec.method === 'GET' && rec.path === '/api/v3/positions') return this.ok(res, { netPositions: this.positions(appId), overall: {} });
    if (rec.method === 'GET' && rec.path === '/api/v3/holdings') return this.ok(res, { holdings: [], overall: {} });
    if (rec.method === 'GET' && rec.path === '/api/v3/funds') {
      return this.ok(res, { fund_limit: [{ id: 1, title: 'Total Balance', equityAmount: n(app.cash), commodityAmount: 0 }, { id: 10, title: 'Available Balance', equityAmount: n(app.cash), commodityAmount: 0 }] });
    }
    if (rec.method === 'GET' && rec.path === '/data/quotes') {
      const d = (u.searchParams.get('symbols') ?? '').split(',').flatMap((s) => {
        const q = this.quotes.get(s);
        return q ? [{ n: s, s: 'ok', v: { lp: Number(q.last), bid: Number(q.bid), ask: Number(q.ask), symbol: s } }] : [];
      });
      return this.ok(res, { d });
    }
    return this.err(res, 404, -300, 'Not found');
  }

  private positions(appId: string): Row[] {
    const by = new Map<string, { qty: Decimal; cost: Decimal }>();
    for (const t of this.trades.filter((x) => x.appId === appId)) {
      const p = by.get(String(t.symbol)) ?? { qty: D(0), cost: D(0) };
      const q = D(t.tradedQty).mul(Number(t.side));
      p.qty = p.qty.plus(q);
      p.cost = p.cost.plus(q.mul(D(t.tradePrice)));
      by.set(String(t.symbol), p);
    }
    return [...by.entries()].map(([symbol, p]) => ({ symbol, netQty: n(p.qty), avgPrice: p.qty.isZero() ? 0 : n(p.cost.div(p.qty).toDecimalPlaces(2)), productType: 'CNC', pl: 0 }));
  }

  private place(appId: string, b: Row, res: http.ServerResponse): void {
    const q = this.quotes.get(String(b.symbol));
    if (!q) return this.err(res, 400, -50, 'Invalid symbol');
    if (!Number.isInteger(b.qty) || (b.qty as number) <= 0) return this.err(res, 400, -50, 'Invalid qty');
    if (![1, 2, 3, 4].includes(Number(b.type)) || ![1, -1].includes(Number(b.side))) return this.err(res, 400, -50, 'Invalid type or side');
    if (b.orderTag !== undefined && !/^[A-Za-z0-9]{1,30}$/.test(String(b.orderTag))) return this.err(res, 400, -50, 'Invalid orderTag');
    if ((b.type === 1 || b.type === 4) && (!(Number(b.limitPrice) > 0) || !D(b.limitPrice).mod(q.tick).isZero())) return this.err(res, 400, -50, `Price not a multiple of tick size ${q.tick}`);
    const id = String(this.seq++);
    const row: Row = {
      id, exchOrdId: '', symbol: b.symbol, qty: b.qty, remainingQuantity: b.qty, filledQty: 0, limitPrice: b.limitPrice ?? 0, stopPrice: b.stopPrice ?? 0, tradedPrice: 0,
      type: b.type, side: b.side, productType: b.productType, status: 4, message: '', orderTag: b.orderTag ?? '', orderValidity: b.validity, offlineOrder: false,
      orderDateTime: new Date().toISOString(),
    };
    const o = { row, appId };
    this.orders.set(id, o);
    const script = this.nextOrders.shift() ?? {};
    if (script.reject) Object.assign(row, { status: 5, message: script.reject });
    else {
      Object.assign(row, { status: 6, exchOrdId: `1100${id.slice(-8)}` });
      if (this.marketable(row)) for (const c of script.fills ?? [String(b.qty)]) this.fill(o, D(c));
    }
    this.notify(o);
    if (this.loseNextAck) {
      this.loseNextAck = false;
      return void res.socket?.destroy();
    }
    this.send(res, 200, { s: 'ok', code: 1101, message: 'Order submitted successfully', id });
  }

  private marketable(row: Row): boolean {
    const q = this.quotes.get(String(row.symbol))!;
    if (row.type === 2) return true;
    if (row.type !== 1) return false;
    return row.side === 1 ? D(row.limitPrice).gte(q.ask) : D(row.limitPrice).lte(q.bid);
  }

  fill(o: { row: Row; appId: string }, qty?: Decimal): void {
    const q = this.quotes.get(String(o.row.symbol))!;
    const px = D(o.row.side === 1 ? q.ask : q.bid);
    const take = Decimal.min(qty ?? D(o.row.remainingQuantity), D(o.row.remainingQuantity));
    if (take.lte(0)) return;
    const before = D(o.row.filledQty);
    const filled = before.plus(take);
    this.trades.push({ appId: o.appId, orderNumber: o.row.id, tradeNumber: `${this.tradeSeq++}`, tradedQty: n(take), tradePrice: n(px), symbol: o.row.symbol, side: o.row.side, productType: o.row.productType, orderDateTime: new Date().toISOString() });
    const app = this.apps.get(o.appId)!;
    app.cash = app.cash.minus(px.mul(take).mul(Number(o.row.side)));
    const rest = D(o.row.remainingQuantity).minus(take);
    Object.assign(o.row, { filledQty: n(filled), remainingQuantity: n(rest), tradedPrice: n(D(o.row.tradedPrice).mul(before).plus(px.mul(take)).div(filled).toDecimalPlaces(2)), status: rest.isZero() ? 2 : 6 });
  }

  fillRest(id: string): void {
    this.fill(this.orders.get(id)!);
    this.notify(this.orders.get(id)!);
  }

  /** An order update on the order socket, in the OMS's raw field names (fyers-apiv3 order_ws sample). */
  private notify(o: { row: Row; appId: string }): void {
    const r = o.row;
    const raw = {
      client_id: this.apps.get(o.appId)!.userId, exchange: 10, segment: 10, fy_token: '101000000010', id: r.id, id_fyers: randomBytes(8).toString('hex'), instrument: 0, lot_size: 1,
      offline_flag: false, ord_source: 'W', ord_type: r.type, ordertag: `1:${r.orderTag || 'Untagged'}`, org_ord_status: r.status, precision: 2, product_type: r.productType,
      qty: r.qty, qty_filled: r.filledQty, qty_remaining: r.remainingQuantity, price_limit: r.limitPrice, price_stop: r.stopPrice, price_traded: r.tradedPrice,
      report_type: r.status === 2 ? 'Fill' : 'New Ack', status_msg: r.message || 'New Ack', symbol: r.symbol, tick_size: 0.05, tran_side: r.side, validity: r.orderValidity,
    };
    this.stream.send(o.appId, { orders: raw, s: 'ok' }, (ws) => (this.subscribed.get(ws) ?? []).includes('orders'));
  }

  private modify(appId: string, b: Row, res: http.ServerResponse): void {
    const o = this.orders.get(String(b.id ?? ''));
    if (!o || o.appId !== appId) return this.err(res, 400, -51, 'Invalid order id');
    if (o.row.status !== 6) return this.err(res, 400, -52, 'Order is not pending');
    if (b.qty !== undefined) Object.assign(o.row, { qty: b.qty, remainingQuantity: n(D(b.qty).minus(D(o.row.filledQty))) });
    for (const k of ['type', 'limitPrice', 'stopPrice']) if (b[k] !== undefined) o.row[k] = b[k];
    if (this.marketable(o.row)) this.fill(o);
    this.notify(o);
    this.send(res, 200, { s: 'ok', code: 1102, message: 'Successfully modified order', id: o.row.id });
  }

  private cancel(appId: string, b: Row, res: http.ServerResponse): void {
    const o = this.orders.get(String(b.id ?? ''));
    if (!o || o.appId !== appId) return this.err(res, 400, -51, 'Invalid order id');
    if (o.row.status !== 6) return this.err(res, 400, -52, 'Order is not pending and cannot be cancelled');
    Object.assign(o.row, { status: 1, remainingQuantity: 0 });
    this.notify(o);
    this.send(res, 200, { s: 'ok', code: 1103, message: 'Successfully cancelled order', id: o.row.id });
  }
}
