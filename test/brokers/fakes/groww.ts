import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { Decimal } from '../../../src/lib/decimal.js';

/**
 * A fake of the Groww Trade API on 127.0.0.1, from groww.in/trade-api/docs: `Authorization: Bearer`,
 * `X-API-VERSION: 1.0`, JSON, `{status:"SUCCESS",payload}` / `{status:"FAILURE",error:{code,message}}`,
 * Groww's order statuses, order_reference_id (8–20 alphanumerics, duplicate → GA007), no push channel.
 */
export interface GrowwRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  contentType: string;
  json: Record<string, unknown> | null;
}

type Row = Record<string, unknown>;
const D = (v: unknown) => new Decimal(String(v ?? 0));
const n = (d: Decimal) => Number(d.toFixed());

export class GrowwFake {
  readonly requests: GrowwRequestRecord[] = [];
  url = '';
  private server!: http.Server;
  private readonly tokens = new Map<string, { user: string; valid: boolean }>();
  private readonly keys = new Map<string, { secret: string; user: string }>();
  private readonly cash = new Map<string, Decimal>();
  private readonly orders = new Map<string, { row: Row; user: string; trades: Row[] }>();
  private readonly quotes = new Map<string, { bid: string; ask: string; last: string; tick: string }>();
  private seq = 1;
  private tradeSeq = 1;
  readonly nextOrders: Array<{ reject?: string; fills?: string[] }> = [];
  readonly failNext: Array<{ path: RegExp; status: number; body: unknown; headers?: Record<string, string> }> = [];
  loseNextAck = false;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  addUser(user: string, cash = '1000000'): string {
    this.cash.set(user, D(cash));
    const t = randomBytes(20).toString('hex');
    this.tokens.set(t, { user, valid: true });
    return t;
  }

  addApiKey(user: string, apiKey: string, secret: string): void {
    this.keys.set(apiKey, { secret, user });
  }

  expireTokens(user: string): void {
    for (const t of this.tokens.values()) if (t.user === user) t.valid = false;
  }

  setQuote(symbol: string, q: { bid: string; ask: string; last: string; tick?: string }): void {
    this.quotes.set(symbol, { tick: '0.05', ...q });
  }

  fillRest(id: string): void {
    this.fill(this.orders.get(id)!);
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }
  private ok(res: http.ServerResponse, payload: unknown): void {
    this.send(res, 200, { status: 'SUCCESS', payload });
  }
  private fail(res: http.ServerResponse, status: number, code: string, message: string): void {
    this.send(res, status, { status: 'FAILURE', error: { code, message, metadata: null } });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    const contentType = String(req.headers['content-type'] ?? '');
    const json = raw && contentType.includes('json') ? (JSON.parse(raw) as Row) : null;
    const rec: GrowwRequestRecord = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, contentType, json };
    this.requests.push(rec);
    const i = this.failNext.findIndex((f) => f.path.test(`${rec.method} ${rec.path}`));
    if (i >= 0) {
      const [f] = this.failNext.splice(i, 1);
      return this.send(res, f.status, f.body, f.headers);
    }
    const bearer = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (rec.method === 'POST' && rec.path === '/v1/token/api/access') {
      const k = this.keys.get(bearer);
      const expected = k && createHash('sha256').update(k.secret + String(json?.timestamp ?? '')).digest('hex');
      if (!k || json?.key_type !== 'approval' || json?.checksum !== expected) return this.fail(res, 401, 'GA005', 'Not authorised');
      const t = randomBytes(20).toString('hex');
      this.tokens.set(t, { user: k.user, valid: true });
      return this.send(res, 200, { token: t, tokenRefId: 'r', sessionName: 'api', expiry: '' });
    }
    const tok = this.tokens.get(bearer);
    if (!tok || !tok.valid) return this.fail(res, 401, 'GA005', 'User not authorised to perform this operation');
    if (req.headers['x-api-version'] !== '1.0') return this.fail(res, 400, 'GA001', 'X-API-VERSION header is required');
    const user = tok.user;
    let m: RegExpExecArray | null;
    if (rec.method === 'POST' && rec.path === '/v1/order/create') return this.create(user, json ?? {}, res);
    if (rec.method === 'POST' && rec.path === '/v1/order/modify') return this.modify(user, json ?? {}, res);
    if (rec.method === 'POST' && rec.path === '/v1/order/cancel') return this.cancel(user, json ?? {}, res);
    if (rec.method === 'GET' && rec.path === '/v1/order/list') return this.ok(res, { order_list: [...this.orders.values()].filter((o) => o.user === user).map((o) => o.row) });
    if (rec.method === 'GET' && (m = /^\/v1\/order\/detail\/(\w+)$/.exec(rec.path))) {
      const o = this.orders.get(m[1]);
      if (!o || o.user !== user) return this.fail(res, 400, 'GA004', 'Order not found');
      return this.ok(res, o.row);
    }
    if (rec.method === 'GET' && (m = /^\/v1\/order\/trades\/(\w+)$/.exec(rec.path))) {
      const o = this.orders.get(m[1]);
      if (!o || o.user !== user) return this.fail(res, 400, 'GA004', 'Order not found');
      return this.ok(res, { trade_list: o.trades });
    }
    if (rec.method === 'GET' && rec.path === '/v1/positions/user') {
      const by = new Map<string, { qty: Decimal; cost: Decimal }>();
      for (const o of [...this.orders.values()].filter((x) => x.user === user)) {
        for (const t of o.trades) {
          const p = by.get(String(o.row.trading_symbol)) ?? { qty: D(0), cost: D(0) };
          const q = D(t.quantity).mul(o.row.transaction_type === 'BUY' ? 1 : -1);
          p.qty = p.qty.plus(q);
          p.cost = p.cost.plus(q.mul(D(t.price)));
          by.set(String(o.row.trading_symbol), p);
        }
      }
      return this.ok(res, { positions: [...by.entries()].map(([s, p]) => ({ trading_symbol: s, exchange: 'NSE', segment: 'CASH', product: 'CNC', quantity: n(p.qty), net_price: p.qty.isZero() ? 0 : n(p.cost.div(p.qty).toDecimalPlaces(2)) })) });
    }
    if (rec.method === 'GET' && rec.path === '/v1/holdings/user') return this.ok(res, { holdings: [] });
    if (rec.method === 'GET' && rec.path === '/v1/margins/detail/user') {
      const c = n(this.cash.get(user) ?? D(0));
      return this.ok(res, { clear_cash: c, net_margin_used: 0, equity_margin_details: { cnc_balance_available: c } });
    }
    if (rec.method === 'GET' && rec.path === '/v1/live-data/quote') {
      const q = this.quotes.get(u.searchParams.get('trading_symbol') ?? '');
      if (!q) return this.fail(res, 400, 'GA003', 'Invalid trading symbol');
      return this.ok(res, { last_price: Number(q.last), depth: { buy: [{ price: Number(q.bid), quantity: 100 }], sell: [{ price: Number(q.ask), quantity: 100 }] } });
    }
    return this.fail(res, 404, 'GA000', 'Not found');
  }

  private create(user: string, b: Row, res: http.ServerResponse): void {
    const q = this.quotes.get(String(b.trading_symbol ?? ''));
    if (!q || b.segment !== 'CASH') return this.fail(res, 400, 'GA003', 'Invalid trading symbol or segment');
    if (!Number.isInteger(b.quantity) || (b.quantity as number) <= 0) return this.fail(res, 400, 'GA001', 'Invalid quantity');
    const ref = String(b.order_reference_id ?? '');
    if (!/^[A-Za-z0-9-]{8,20}$/.test(ref) || (ref.match(/-/g) ?? []).length > 2) return this.fail(res, 400, 'GA001', 'Invalid order_reference_id');
    if ([...this.orders.values()].some((o) => o.user === user && o.row.order_reference_id === ref)) return this.fail(res, 400, 'GA007', 'Duplicate order reference id');
    if ((b.order_type === 'LIMIT' || b.order_type === 'SL') && (!(Number(b.price) > 0) || !D(b.price).mod(q.tick).isZero())) return this.fail(res, 400, 'GA001', `Price must be a multiple of tick size ${q.tick}`);
    const id = `GMK${String(this.seq++).padStart(10, '0')}`;
    const row: Row = {
      groww_order_id: id, trading_symbol: b.trading_symbol, exchange: b.exchange, segment: 'CASH', product: b.product, order_type: b.order_type, transaction_type: b.transaction_type,
      quantity: b.quantity, price: b.price ?? 0, trigger_price: b.trigger_price ?? 0, validity: b.validity, order_status: 'NEW', remark: null, filled_quantity: 0, remaining_quantity: b.quantity,
      average_fill_price: 0, order_reference_id: ref, amo_status: 'NA', created_at: new Date().toISOString(),
    };
    const o = { row, user, trades: [] as Row[] };
    this.orders.set(id, o);
    const script = this.nextOrders.shift() ?? {};
    if (script.reject) Object.assign(row, { order_status: 'REJECTED', remark: script.reject });
    else {
      row.order_status = 'APPROVED';
      if (this.marketable(row)) for (const c of script.fills ?? [String(b.quantity)]) this.fill(o, D(c));
    }
    if (this.loseNextAck) {
      this.loseNextAck = false;
      return void res.socket?.destroy();
    }
    this.ok(res, { groww_order_id: id, order_status: row.order_status, order_reference_id: ref, remark: row.remark });
  }

  private marketable(row: Row): boolean {
    const q = this.quotes.get(String(row.trading_symbol))!;
    if (row.order_type === 'MARKET') return true;
    if (row.order_type !== 'LIMIT') return false;
    return row.transaction_type === 'BUY' ? D(row.price).gte(q.ask) : D(row.price).lte(q.bid);
  }

  private fill(o: { row: Row; user: string; trades: Row[] }, qty?: Decimal): void {
    const q = this.quotes.get(String(o.row.trading_symbol))!;
    const px = D(o.row.transaction_type === 'BUY' ? q.ask : q.bid);
    const take = Decimal.min(qty ?? D(o.row.remaining_quantity), D(o.row.remaining_quantity));
    if (take.lte(0)) return;
    const before = D(o.row.filled_quantity);
    const filled = before.plus(take);
    o.trades.push({ groww_trade_id: `GTR${this.tradeSeq++}`, groww_order_id: o.row.groww_order_id, price: n(px), quantity: n(take), trade_status: 'EXECUTED' });
    this.cash.set(o.user, (this.cash.get(o.user) ?? D(0)).minus(px.mul(take).mul(o.row.transaction_type === 'BUY' ? 1 : -1)));
    const rest = D(o.row.remaining_quantity).minus(take);
    Object.assign(o.row, { filled_quantity: n(filled), remaining_quantity: n(rest), average_fill_price: n(D(o.row.average_fill_price).mul(before).plus(px.mul(take)).div(filled).toDecimalPlaces(2)), order_status: rest.isZero() ? 'EXECUTED' : 'APPROVED' });
  }

  private modify(user: string, b: Row, res: http.ServerResponse): void {
    const o = this.orders.get(String(b.groww_order_id ?? ''));
    if (!o || o.user !== user) return this.fail(res, 400, 'GA004', 'Order not found');
    if (o.row.order_status !== 'APPROVED' && o.row.order_status !== 'ACKED') return this.fail(res, 400, 'GA006', 'Order cannot be modified');
    Object.assign(o.row, { quantity: b.quantity ?? o.row.quantity, price: b.price ?? o.row.price, trigger_price: b.trigger_price ?? o.row.trigger_price });
    o.row.remaining_quantity = n(D(o.row.quantity).minus(D(o.row.filled_quantity)));
    if (this.marketable(o.row)) this.fill(o);
    this.ok(res, { groww_order_id: o.row.groww_order_id, order_status: 'MODIFICATION_REQUESTED' });
  }

  private cancel(user: string, b: Row, res: http.ServerResponse): void {
    const o = this.orders.get(String(b.groww_order_id ?? ''));
    if (!o || o.user !== user) return this.fail(res, 400, 'GA004', 'Order not found');
    if (o.row.order_status !== 'APPROVED' && o.row.order_status !== 'ACKED' && o.row.order_status !== 'NEW') return this.fail(res, 400, 'GA006', 'Order cannot be cancelled');
    Object.assign(o.row, { order_status: 'CANCELLED', remaining_quantity: 0 });
    this.ok(res, { groww_order_id: o.row.groww_order_id, order_status: 'CANCELLATION_REQUESTED' });
  }
}
