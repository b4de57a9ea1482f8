import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Decimal } from '../../../src/lib/decimal.js';
import { FakeSocketHub } from './socket-hub.js';

/**
 * A fake of Angel One SmartAPI on 127.0.0.1, from SmartAPI's docs and angel-one/smartapi-python: login by
 * client code + PIN + TOTP, refresh by generateTokens, the X-PrivateKey / X-UserType / X-SourceID headers,
 * JSON with string values, `{status:true,message:"SUCCESS",errorcode:"",data}` / `{status:false,message,
 * errorcode,data:null}`, lowercase order statuses, `data: null` for empty books.
 */
export interface AngelRequestRecord {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  contentType: string;
  json: Record<string, unknown> | null;
}

type Row = Record<string, unknown>;
const D = (v: unknown) => new Decimal(String(v ?? 0));
const s = (d: Decimal) => d.toFixed();
const O = '/rest/secure/angelbroking/order/v1';

/** The SmartAPI order socket's `order-status` codes (docs "Websocket Order Status"). */
const ORDER_STATUS_CODES: Record<string, string> = {
  open: 'AB01', cancelled: 'AB02', rejected: 'AB03', modified: 'AB04', complete: 'AB05', 'after market order req received': 'AB06',
  'cancelled after market order': 'AB07', 'modify after market order req received': 'AB08', 'open pending': 'AB09', 'trigger pending': 'AB10', 'modify pending': 'AB11',
};

/** `orderData` with every documented field empty (the AB00 greeting). */
const EMPTY_ORDER = {
  variety: '', ordertype: '', ordertag: '', producttype: '', price: 0, triggerprice: 0, quantity: '0', disclosedquantity: '0', duration: '', squareoff: 0, stoploss: 0,
  trailingstoploss: 0, tradingsymbol: '', transactiontype: '', exchange: '', symboltoken: '', instrumenttype: '', strikeprice: 0, optiontype: '', expirydate: '', lotsize: '0',
  cancelsize: '0', averageprice: 0, filledshares: '', unfilledshares: '', orderid: '', text: '', status: '', orderstatus: '', updatetime: '', exchtime: '', exchorderupdatetime: '',
  fillid: '', filltime: '', parentorderid: '',
};

export class AngelOneFake {
  readonly requests: AngelRequestRecord[] = [];
  url = '';
  private server!: http.Server;
  private readonly clients = new Map<string, { apiKey: string; pin: string; totp: string; cash: Decimal }>();
  private readonly tokens = new Map<string, { client: string; valid: boolean }>();
  private readonly refreshTokens = new Map<string, string>();
  private readonly orders = new Map<string, { row: Row; client: string }>();
  private readonly trades: Array<Row & { client: string }> = [];
  private readonly scrips = new Map<string, { symbol: string; exchange: string; bid: string; ask: string; last: string; tick: string }>();
  private seq = 250105000000100;
  private fillSeq = 1;
  readonly nextOrders: Array<{ reject?: string; fills?: string[] }> = [];
  readonly failNext: Array<{ path: RegExp; status: number; body: unknown; headers?: Record<string, string> }> = [];
  loseNextAck = false;
  /** The order status socket (`/smart-order-update`, Bearer jwt, `ping`/`pong`, AB00 on connect); `silent`, `duplicate`, `drop`. */
  stream!: FakeSocketHub;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.stream = new FakeSocketHub(this.server, {
      path: '/smart-order-update',
      auth: (req) => {
        const t = this.tokens.get(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
        return t?.valid ? t.client : null;
      },
      greet: (client) => ({ 'user-id': client, 'status-code': '200', 'order-status': 'AB00', 'error-message': '', orderData: { ...EMPTY_ORDER } }),
      reply: (_client, text) => (text === 'ping' ? 'pong' : undefined),
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

  addClient(clientCode: string, apiKey: string, pin = '1111', totp = '123456', cash = '1000000'): void {
    this.clients.set(clientCode, { apiKey, pin, totp, cash: D(cash) });
  }

  issueToken(clientCode: string): string {
    const t = randomBytes(24).toString('base64url');
    this.tokens.set(t, { client: clientCode, valid: true });
    return t;
  }

  expireTokens(clientCode: string): void {
    for (const t of this.tokens.values()) if (t.client === clientCode) t.valid = false;
  }

  addScrip(token: string, q: { symbol: string; exchange: string; bid: string; ask: string; last: string; tick?: string }): void {
    this.scrips.set(token, { tick: '0.05', ...q });
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }
  private ok(res: http.ServerResponse, data: unknown): void {
    this.send(res, 200, { status: true, message: 'SUCCESS', errorcode: '', data });
  }
  private fail(res: http.ServerResponse, status: number, errorcode: string, message: string): void {
    this.send(res, status, { status: false, message, errorcode, data: null });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    const contentType = String(req.headers['content-type'] ?? '');
    const json = raw && contentType.includes('json') ? (JSON.parse(raw) as Row) : null;
    const rec: AngelRequestRecord = { method: req.method ?? 'GET', path: u.pathname, headers: req.headers, contentType, json };
    this.requests.push(rec);
    const i = this.failNext.findIndex((f) => f.path.test(`${rec.method} ${rec.path}`));
    if (i >= 0) {
      const [f] = this.failNext.splice(i, 1);
      return this.send(res, f.status, f.body, f.headers);
    }
    if (req.headers['x-usertype'] !== 'USER' || req.headers['x-sourceid'] !== 'WEB' || !req.headers['x-privatekey']) return this.fail(res, 400, 'AB1004', 'Missing SmartAPI headers');
    if (rec.method === 'POST' && rec.path === '/rest/auth/angelbroking/user/v1/loginByPassword') {
      const c = this.clients.get(String(json?.clientcode ?? ''));
      if (!c || c.apiKey !== req.headers['x-privatekey']) return this.fail(res, 200, 'AB1007', 'Invalid API key or client code');
      if (json?.password !== c.pin || json?.totp !== c.totp) return this.fail(res, 200, 'AB1050', 'Invalid totp');
      const rt = randomBytes(16).toString('hex');
      this.refreshTokens.set(rt, String(json.clientcode));
      return this.ok(res, { jwtToken: this.issueToken(String(json.clientcode)), refreshToken: rt, feedToken: 'feed' });
    }
    if (rec.method === 'POST' && rec.path === '/rest/auth/angelbroking/jwt/v1/generateTokens') {
      const client = this.refreshTokens.get(String(json?.refreshToken ?? ''));
      if (!client) return this.fail(res, 200, 'AB8051', 'Invalid refresh token');
      return this.ok(res, { jwtToken: this.issueToken(client), refreshToken: json!.refreshToken, feedToken: 'feed' });
    }
    const tok = this.tokens.get(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!tok) return this.fail(res, 401, 'AG8001', 'Invalid Token');
    if (!tok.valid) return this.fail(res, 401, 'AG8002', 'Token Expired');
    const client = tok.client;
    const mine = () => [...this.orders.values()].filter((o) => o.client === client);
    if (rec.method === 'POST' && rec.path === `${O}/placeOrder`) return this.place(client, json ?? {}, res);
    if (rec.method === 'POST' && rec.path === `${O}/modifyOrder`) return this.modify(client, json ?? {}, res);
    if (rec.method === 'POST' && rec.path === `${O}/cancelOrder`) return this.cancel(client, json ?? {}, res);
    if (rec.method === 'GET' && rec.path === `${O}/getOrderBook`) return this.ok(res, mine().length ? mine().map((o) => o.row) : null);
    if (rec.method === 'GET' && rec.path === `${O}/getTradeBook`) {
      const t = this.trades.filter((x) => x.client === client).map(({ client: _c, ...x }) => x);
      return this.ok(res, t.length ? t : null);
    }
    if (rec.method === 'GET' && rec.path === `${O}/getPosition`) return this.ok(res, this.positions(client));
    if (rec.method === 'GET' && rec.path === '/rest/secure/angelbroking/portfolio/v1/getHolding') return this.ok(res, null);
    if (rec.method === 'GET' && rec.path === '/rest/secure/angelbroking/user/v1/getRMS') {
      const cash = s(this.clients.get(client)!.cash);
      return this.ok(res, { net: cash, availablecash: cash, availableintradaypayin: '0', utiliseddebits: '0' });
    }
    if (rec.method === 'POST' && rec.path === '/rest/secure/angelbroking/market/v1/quote') {
      const fetched = Object.entries((json?.exchangeTokens ?? {}) as Record<string, string[]>).flatMap(([ex, toks]) =>
        toks.flatMap((t) => {
          const q = this.scrips.get(t);
          return q && q.exchange === ex ? [{ exchange: ex, tradingSymbol: q.symbol, symbolToken: t, ltp: Number(q.last), depth: { buy: [{ price: Number(q.bid), quantity: 10, orders: 1 }], sell: [{ price: Number(q.ask), quantity: 10, orders: 1 }] } }] : [];
        }),
      );
      return this.ok(res, { fetched, unfetched: [] });
    }
    return this.fail(res, 404, 'AB1000', 'Not found');
  }

  private positions(client: string): Row[] | null {
    const by = new Map<string, { sym: string; ex: string; qty: Decimal; cost: Decimal }>();
    for (const t of this.trades.filter((x) => x.client === client)) {
      const p = by.get(String(t.tradingsymbol)) ?? { sym: String(t.tradingsymbol), ex: String(t.exchange), qty: D(0), cost: D(0) };
      const q = D(t.fillsize).mul(t.transactiontype === 'BUY' ? 1 : -1);
      p.qty = p.qty.plus(q);
      p.cost = p.cost.plus(q.mul(D(t.fillprice)));
      by.set(p.sym, p);
    }
    const rows = [...by.values()].map((p) => ({ tradingsymbol: p.sym, exchange: p.ex, producttype: 'DELIVERY', netqty: s(p.qty), avgnetprice: p.qty.isZero() ? '0' : s(p.cost.div(p.qty).toDecimalPlaces(2)) }));
    return rows.length ? rows : null;
  }

  private place(client: string, b: Row, res: http.ServerResponse): void {
    const q = this.scrips.get(String(b.symboltoken ?? ''));
    if (!q || q.symbol !== b.tradingsymbol || q.exchange !== b.exchange) return this.fail(res, 200, 'AB1019', 'Invalid symbol token or trading symbol');
    for (const k of ['quantity', 'price', 'triggerprice']) if (b[k] !== undefined && typeof b[k] !== 'string') return this.fail(res, 200, 'AB1009', `${k} must be a string`);
    if (!/^[1-9]\d*$/.test(String(b.quantity))) return this.fail(res, 200, 'AB1009', 'Invalid quantity');
    if ((b.ordertype === 'LIMIT' || b.ordertype === 'STOPLOSS_LIMIT') && (!(Number(b.price) > 0) || !D(b.price).mod(q.tick).isZero())) return this.fail(res, 200, 'AB1009', `Price should be multiple of tick size ${q.tick}`);
    const id = String(this.seq++);
    const row: Row = {
      variety: b.variety, ordertype: b.ordertype, producttype: b.producttype, duration: b.duration, price: Number(b.price ?? 0), triggerprice: Number(b.triggerprice ?? 0), quantity: String(b.quantity),
      tradingsymbol: b.tradingsymbol, transactiontype: b.transactiontype, exchange: b.exchange, symboltoken: b.symboltoken, ordertag: b.ordertag ?? '', averageprice: 0, filledshares: '0',
      unfilledshares: String(b.quantity), orderid: id, uniqueorderid: randomBytes(8).toString('hex'), text: '', status: 'open', orderstatus: 'open', updatetime: '', exchorderupdatetime: '',
    };
    const o = { row, client };
    this.orders.set(id, o);
    const script = this.nextOrders.shift() ?? {};
    if (script.reject) Object.assign(row, { status: 'rejected', orderstatus: 'rejected', text: script.reject });
    else if (this.marketable(row)) for (const c of script.fills ?? [String(b.quantity)]) this.fill(o, D(c));
    this.notify(o);
    if (this.loseNextAck) {
      this.loseNextAck = false;
      return void res.socket?.destroy();
    }
    this.ok(res, { script: b.tradingsymbol, orderid: id, uniqueorderid: row.uniqueorderid });
  }

  private marketable(row: Row): boolean {
    const q = this.scrips.get(String(row.symboltoken))!;
    if (row.ordertype === 'MARKET') return true;
    if (row.ordertype !== 'LIMIT') return false;
    return row.transactiontype === 'BUY' ? D(row.price).gte(q.ask) : D(row.price).lte(q.bid);
  }

  fill(o: { row: Row; client: string }, qty?: Decimal): void {
    const q = this.scrips.get(String(o.row.symboltoken))!;
    const px = D(o.row.transactiontype === 'BUY' ? q.ask : q.bid);
    const take = Decimal.min(qty ?? D(o.row.unfilledshares), D(o.row.unfilledshares));
    if (take.lte(0)) return;
    const before = D(o.row.filledshares);
    const filled = before.plus(take);
    this.trades.push({ client: o.client, exchange: o.row.exchange, producttype: o.row.producttype, tradingsymbol: o.row.tradingsymbol, transactiontype: o.row.transactiontype, fillprice: s(px), fillsize: s(take), orderid: o.row.orderid, fillid: String(this.fillSeq++), filltime: '10:00:00' });
    const c = this.clients.get(o.client)!;
    c.cash = c.cash.minus(px.mul(take).mul(o.row.transactiontype === 'BUY' ? 1 : -1));
    const rest = D(o.row.unfilledshares).minus(take);
    const st = rest.isZero() ? 'complete' : 'open';
    Object.assign(o.row, { filledshares: s(filled), unfilledshares: s(rest), averageprice: Number(D(o.row.averageprice).mul(before).plus(px.mul(take)).div(filled).toDecimalPlaces(2).toFixed()), status: st, orderstatus: st });
  }

  fillRest(id: string): void {
    this.fill(this.orders.get(id)!);
    this.notify(this.orders.get(id)!);
  }

  /** An order update on the order status socket, in the documented envelope and status codes. */
  private notify(o: { row: Row; client: string }): void {
    const last = this.trades.filter((t) => t.orderid === o.row.orderid).at(-1);
    this.stream.send(o.client, {
      'user-id': o.client,
      'status-code': '200',
      'order-status': ORDER_STATUS_CODES[String(o.row.orderstatus)] ?? 'AB01',
      'error-message': '',
      orderData: { ...EMPTY_ORDER, ...o.row, exchtime: '', fillid: last?.fillid ?? '', filltime: last?.filltime ?? '', parentorderid: '' },
    });
  }

  private modify(client: string, b: Row, res: http.ServerResponse): void {
    const o = this.orders.get(String(b.orderid ?? ''));
    if (!o || o.client !== client) return this.fail(res, 200, 'AB2001', 'Invalid order id');
    if (o.row.status !== 'open') return this.fail(res, 200, 'AB2002', 'Order cannot be modified');
    Object.assign(o.row, { price: Number(b.price ?? o.row.price), quantity: String(b.quantity ?? o.row.quantity) });
    o.row.unfilledshares = s(D(o.row.quantity).minus(D(o.row.filledshares)));
    if (this.marketable(o.row)) this.fill(o);
    this.notify(o);
    this.ok(res, { orderid: o.row.orderid, uniqueorderid: o.row.uniqueorderid });
  }

  private cancel(client: string, b: Row, res: http.ServerResponse): void {
    const o = this.orders.get(String(b.orderid ?? ''));
    if (!o || o.client !== client) return this.fail(res, 200, 'AB2001', 'Invalid order id');
    if (o.row.status !== 'open' && o.row.status !== 'trigger pending') return this.fail(res, 200, 'AB2003', 'Order cannot be cancelled');
    Object.assign(o.row, { status: 'cancelled', orderstatus: 'cancelled', unfilledshares: '0' });
    this.notify(o);
    this.ok(res, { orderid: o.row.orderid, uniqueorderid: o.row.uniqueorderid });
  }
}
