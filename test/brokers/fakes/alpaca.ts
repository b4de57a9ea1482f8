import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { Decimal } from '../../../src/lib/decimal.js';

/**
 * A fake of Alpaca's Trading API v2 (and the snapshot endpoint of its market data API) on 127.0.0.1,
 * written from docs.alpaca.markets and alpaca-py: `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers, JSON
 * with decimals as strings, `{"code","message"}` errors (401, 403, 404, 422), 429 with the
 * `X-Ratelimit-Limit/Remaining/Reset` headers on every reply, `client_order_id` unique per account,
 * replace by PATCH (the old order becomes `replaced`), FILL account activities, and the `trade_updates`
 * WebSocket at /stream (authenticate, listen; binary frames like the paper host when asked).
 * Scriptable: partial fills, rejections, 429s, revoked keys, a lost acknowledgement, duplicate or lost pushes.
 */

export interface AlpacaRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  contentType: string;
  rawBody: string;
  json: Record<string, unknown> | null;
}

interface Account {
  keyId: string;
  secretKey: string;
  id: string;
  number: string;
  cash: Decimal;
  valid: boolean;
  /** Requests left in the current minute, and when it resets (Unix seconds). */
  remaining: number;
  resetAt: number;
}

interface Order {
  keyId: string;
  row: Record<string, unknown> & { id: string; client_order_id: string; status: string; symbol: string; side: string; qty: string; filled_qty: string };
}

export interface AlpacaOrderScript {
  /** Reject (status rejected, `rejected` trade update) instead of accepting. */
  reject?: boolean;
  /** Fill only these quantities (each its own execution); the rest stays open. */
  fills?: string[];
}

const D = (v: unknown) => new Decimal(String(v ?? 0));
const s = (d: Decimal) => d.toFixed();

export class AlpacaFake {
  readonly requests: AlpacaRequestRecord[] = [];
  /** Every client message received on /stream, as parsed JSON. */
  readonly streamMessages: unknown[] = [];
  url = '';
  wsUrl = '';
  private server!: http.Server;
  private wss!: WebSocketServer;
  private readonly accounts = new Map<string, Account>();
  private readonly orders = new Map<string, Order>();
  private readonly activities: Array<Record<string, unknown> & { keyId: string }> = [];
  private readonly quotes = new Map<string, { bid: string; ask: string; last: string; exchange: string }>();
  private readonly sockets = new Map<WebSocket, { keyId?: string; listening: boolean }>();
  /** Requests per minute per account (documented 200). */
  rateLimit = 200;
  readonly nextOrders: AlpacaOrderScript[] = [];
  readonly failNext: Array<{ path: RegExp; status: number; body: unknown; headers?: Record<string, string> }> = [];
  loseNextAck = false;
  duplicatePushes = false;
  dropPushes = false;
  /** Send stream messages as binary frames (the paper host does). */
  binaryFrames = false;
  /** Authentication messages the stream understands (a fake of one documentation version takes one). */
  streamAuthForms = new Set(['authenticate', 'auth']);
  /** Delay before an accepted marketable order fills, in ms. */
  fillDelayMs = 5;
  private actSeq = 0;
  /** OAuth2 (docs.alpaca.markets "Using OAuth2 and Trading API"): apps, issued codes and access tokens. */
  private readonly oauthApps = new Map<string, { secret: string; redirectUri: string }>();
  private readonly oauthCodes = new Map<string, { clientId: string; keyId: string; redirectUri: string }>();
  private readonly oauthTokens = new Map<string, string>();

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.wss = new WebSocketServer({ server: this.server, path: '/stream' });
    this.wss.on('connection', (ws) => this.onSocket(ws));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}/stream`;
    return this;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets.keys()) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  addAccount(keyId: string, secretKey: string, cash = '100000'): { accountNumber: string } {
    const number = `PA${Math.floor(Math.random() * 1e10)}`;
    this.accounts.set(keyId, { keyId, secretKey, id: randomUUID(), number, cash: D(cash), valid: true, remaining: this.rateLimit, resetAt: 0 });
    return { accountNumber: number };
  }

  /** An OAuth app registered at Alpaca with its whitelisted redirect URI. */
  addOAuthApp(clientId: string, secret: string, redirectUri: string): void {
    this.oauthApps.set(clientId, { secret, redirectUri });
  }

  /**
   * The user logs in at app.alpaca.markets/oauth/authorize and approves the app for the account behind
   * `keyId`: Alpaca redirects to redirect_uri with this code (single use).
   */
  authorize(clientId: string, keyId: string, redirectUri: string): string {
    const code = randomUUID();
    this.oauthCodes.set(code, { clientId, keyId, redirectUri });
    return code;
  }

  /** The user revokes the app in the dashboard: its tokens answer 401. */
  revokeTokens(keyId: string): void {
    for (const [t, k] of this.oauthTokens) if (k === keyId) this.oauthTokens.delete(t);
  }

  /** The key is revoked (or regenerated) in the dashboard: every call answers 401. */
  revokeKey(keyId: string): void {
    const a = this.accounts.get(keyId);
    if (a) a.valid = false;
  }

  setQuote(symbol: string, q: { bid: string; ask: string; last: string; exchange?: string }): void {
    this.quotes.set(symbol, { exchange: 'NASDAQ', ...q });
  }

  orderIds(keyId?: string): string[] {
    return [...this.orders.values()].filter((o) => !keyId || o.keyId === keyId).map((o) => o.row.id);
  }

  /** Close every stream socket (a network drop). */
  dropStreams(): void {
    for (const ws of this.sockets.keys()) ws.terminate();
  }

  listeningKeys(): string[] {
    return [...this.sockets.values()].filter((x) => x.listening && x.keyId).map((x) => x.keyId!);
  }

  /** Fill what is left of an order (or `qty` of it) now, at the current quote. */
  fillRest(orderId: string, qty?: string): void {
    const o = this.orders.get(orderId)!;
    this.fill(o, qty ? D(qty) : D(o.row.qty).minus(o.row.filled_qty));
  }

  /** Expire an open order (end of a DAY order's session). */
  expire(orderId: string): void {
    const o = this.orders.get(orderId)!;
    this.set(o, 'expired', { expired_at: new Date().toISOString() });
    this.push(o, 'expired');
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (status === 204) {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private err(res: http.ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
    this.send(res, status, { code, message }, headers);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://x');
    const contentType = String(req.headers['content-type'] ?? '');
    let json: Record<string, unknown> | null = null;
    if (rawBody && contentType.includes('application/json')) {
      try {
        json = JSON.parse(rawBody) as Record<string, unknown>;
      } catch {
        return this.err(res, 400, 40010000, 'malformed json');
      }
    }
    const rec: AlpacaRequestRecord = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, contentType, rawBody, json };
    this.requests.push(rec);

    if (rec.method === 'POST' && rec.path === '/oauth/token') return this.oauthToken(rawBody, contentType, res);
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const a = this.accounts.get(bearer ? (this.oauthTokens.get(bearer) ?? '') : String(req.headers['apca-api-key-id'] ?? ''));
    if (!a || !a.valid || (!bearer && a.secretKey !== req.headers['apca-api-secret-key'])) return this.err(res, 401, 40110000, 'request is not authorized');
    // 200 requests per minute per account; every reply carries the counter.
    const now = Math.floor(Date.now() / 1000);
    if (now >= a.resetAt) Object.assign(a, { remaining: this.rateLimit, resetAt: now + 60 });
    const limitHeaders = () => ({ 'X-Ratelimit-Limit': String(this.rateLimit), 'X-Ratelimit-Remaining': String(Math.max(0, a.remaining)), 'X-Ratelimit-Reset': String(a.resetAt) });
    if (a.remaining <= 0) return this.err(res, 429, 42910000, 'rate limit exceeded', limitHeaders());
    a.remaining--;

    const scripted = this.failNext.findIndex((f) => f.path.test(`${rec.method} ${rec.path}`));
    if (scripted >= 0) {
      const [f] = this.failNext.splice(scripted, 1);
      return this.send(res, f.status, f.body, { ...limitHeaders(), ...f.headers });
    }
    const ok = (body: unknown, status = 200) => this.send(res, status, body, limitHeaders());
    const fail = (status: number, code: number, message: string) => this.err(res, status, code, message, limitHeaders());
    const mine = () => [...this.orders.values()].filter((o) => o.keyId === a.keyId);

    let m: RegExpExecArray | null;
    if (rec.method === 'GET' && rec.path === '/v2/account') {
      return ok({ id: a.id, account_number: a.number, status: 'ACTIVE', crypto_status: 'ACTIVE', currency: 'USD', cash: s(a.cash), buying_power: s(a.cash.mul(2)), regt_buying_power: s(a.cash.mul(2)), daytrading_buying_power: '0', non_marginable_buying_power: s(a.cash), portfolio_value: s(a.cash), pattern_day_trader: false, trading_blocked: false, multiplier: '2', created_at: '2025-01-02T15:00:00Z' });
    }
    if (rec.method === 'POST' && rec.path === '/v2/orders') return this.place(a, json ?? {}, res, ok, fail);
    if (rec.method === 'GET' && rec.path === '/v2/orders') {
      const status = u.searchParams.get('status') ?? 'open';
      const open = (o: Order) => !['filled', 'canceled', 'expired', 'replaced', 'rejected', 'done_for_day'].includes(o.row.status);
      const rows = mine().filter((o) => status === 'all' || (status === 'open' ? open(o) : !open(o)));
      if (u.searchParams.get('direction') !== 'asc') rows.reverse();
      return ok(rows.slice(0, Number(u.searchParams.get('limit') ?? 50)).map((o) => o.row));
    }
    if (rec.method === 'GET' && rec.path === '/v2/orders:by_client_order_id') {
      const o = mine().find((x) => x.row.client_order_id === u.searchParams.get('client_order_id'));
      return o ? ok(o.row) : fail(404, 40410000, 'order not found');
    }
    if ((m = /^\/v2\/orders\/([^/]+)$/.exec(rec.path))) {
      const o = this.orders.get(m[1]);
      if (!o || o.keyId !== a.keyId) return fail(404, 40410000, 'order not found');
      if (rec.method === 'GET') return ok(o.row);
      if (rec.method === 'DELETE') return this.cancel(o, res, fail);
      if (rec.method === 'PATCH') return this.replace(a, o, json ?? {}, ok, fail);
    }
    if (rec.method === 'GET' && rec.path === '/v2/positions') return ok(this.positions(a.keyId));
    if (rec.method === 'GET' && rec.path === '/v2/account/activities/FILL') {
      const after = u.searchParams.get('after');
      let rows = this.activities.filter((x) => x.keyId === a.keyId && (!after || Date.parse(String(x.transaction_time)) > Date.parse(after)));
      if (u.searchParams.get('direction') === 'desc') rows = rows.reverse();
      const token = u.searchParams.get('page_token');
      if (token) rows = rows.slice(rows.findIndex((x) => x.id === token) + 1);
      return ok(rows.slice(0, Number(u.searchParams.get('page_size') ?? 100)).map(({ keyId: _k, ...x }) => x));
    }
    if (rec.method === 'GET' && rec.path === '/v2/stocks/snapshots') {
      const out: Record<string, unknown> = {};
      const t = new Date().toISOString();
      for (const sym of (u.searchParams.get('symbols') ?? '').split(',')) {
        const q = this.quotes.get(sym);
        if (q) out[sym] = { latestTrade: { t, x: 'V', p: Number(q.last), s: 100, c: ['@'], i: 1, z: 'C' }, latestQuote: { t, ax: 'V', ap: Number(q.ask), as: 1, bx: 'V', bp: Number(q.bid), bs: 1, c: ['R'], z: 'C' } };
      }
      return ok(out);
    }
    return fail(404, 40410000, 'endpoint not found');
  }

  private place(a: Account, b: Record<string, unknown>, res: http.ServerResponse, ok: (b: unknown, st?: number) => void, fail: (st: number, code: number, msg: string) => void): void {
    const symbol = String(b.symbol ?? '');
    const q = this.quotes.get(symbol);
    if (!q) return fail(422, 40010001, `asset "${symbol}" not found`);
    for (const f of ['qty', 'limit_price', 'stop_price', 'notional']) if (b[f] !== undefined && typeof b[f] !== 'string' && typeof b[f] !== 'number') return fail(422, 40010001, `invalid ${f}`);
    if (!['buy', 'sell'].includes(String(b.side))) return fail(422, 40010001, 'invalid side');
    const type = String(b.type ?? '');
    if (!['market', 'limit', 'stop', 'stop_limit', 'trailing_stop'].includes(type)) return fail(422, 40010001, 'invalid order type');
    const tif = String(b.time_in_force ?? '');
    if (!['day', 'gtc', 'opg', 'cls', 'ioc', 'fok'].includes(tif)) return fail(422, 40010001, 'invalid time_in_force');
    if (b.qty === undefined || !/^\d+(\.\d+)?$/.test(String(b.qty)) || D(b.qty).lte(0)) return fail(422, 40010001, 'qty must be > 0');
    if (!D(b.qty).isInteger() && tif !== 'day') return fail(422, 40010001, 'fractional orders must be DAY orders');
    for (const f of ['limit_price', 'stop_price']) {
      const p = b[f];
      if (p === undefined) continue;
      const dp = D(p).gte(1) ? 2 : 4;
      if (D(p).decimalPlaces() > dp) return fail(422, 42210000, `invalid ${f} ${String(p)}. sub-penny increment does not fulfill minimum pricing criteria`);
    }
    if ((type === 'limit' || type === 'stop_limit') && b.limit_price === undefined) return fail(422, 40010001, 'limit_price is required');
    if ((type === 'stop' || type === 'stop_limit') && b.stop_price === undefined) return fail(422, 40010001, 'stop_price is required');
    const cid = b.client_order_id === undefined ? randomUUID() : String(b.client_order_id);
    if (cid.length > 128) return fail(422, 40010001, 'client_order_id must be no more than 128 characters');
    if ([...this.orders.values()].some((o) => o.keyId === a.keyId && o.row.client_order_id === cid)) return fail(422, 40010001, 'client_order_id must be unique');
    const script = this.nextOrders.shift() ?? {};
    const now = new Date().toISOString();
    const o: Order = {
      keyId: a.keyId,
      row: {
        id: randomUUID(), client_order_id: cid, created_at: now, updated_at: now, submitted_at: now, filled_at: null, expired_at: null, canceled_at: null, failed_at: null, replaced_at: null, replaced_by: null, replaces: null,
        asset_id: randomUUID(), symbol, asset_class: 'us_equity', notional: null, qty: String(b.qty), filled_qty: '0', filled_avg_price: null, order_class: '', order_type: type, type, side: String(b.side),
        time_in_force: tif, limit_price: b.limit_price === undefined ? null : String(b.limit_price), stop_price: b.stop_price === undefined ? null : String(b.stop_price), status: 'pending_new', extended_hours: false, legs: null, trail_percent: null, trail_price: null, hwm: null,
      },
    };
    this.orders.set(o.row.id, o);
    if (script.reject) {
      this.set(o, 'rejected', { failed_at: now });
      this.push(o, 'rejected');
    } else {
      this.set(o, 'accepted');
      setTimeout(() => {
        if (o.row.status !== 'accepted') return;
        this.set(o, 'new');
        this.push(o, 'new');
        if (this.marketable(o)) {
          if (script.fills) for (const c of script.fills) this.fill(o, D(c));
          else this.fill(o, D(o.row.qty));
        }
      }, this.fillDelayMs);
    }
    if (this.loseNextAck) {
      this.loseNextAck = false;
      res.socket?.destroy();
      return;
    }
    ok({ ...o.row });
  }

  private marketable(o: Order): boolean {
    const q = this.quotes.get(o.row.symbol)!;
    if (o.row.type === 'market') return true;
    if (o.row.type !== 'limit') return false;
    return o.row.side === 'buy' ? D(o.row.limit_price).gte(q.ask) : D(o.row.limit_price).lte(q.bid);
  }

  private set(o: Order, status: string, extra: Record<string, unknown> = {}): void {
    Object.assign(o.row, { status, updated_at: new Date().toISOString() }, extra);
  }

  private fill(o: Order, qty: Decimal): void {
    const q = this.quotes.get(o.row.symbol)!;
    const a = this.accounts.get(o.keyId)!;
    const px = D(o.row.side === 'buy' ? q.ask : q.bid);
    const left = D(o.row.qty).minus(o.row.filled_qty);
    const take = Decimal.min(qty, left);
    if (take.lte(0)) return;
    const before = D(o.row.filled_qty);
    const cum = before.plus(take);
    const avg = D(o.row.filled_avg_price ?? 0).mul(before).plus(px.mul(take)).div(cum).toDecimalPlaces(4);
    const now = new Date().toISOString();
    const done = cum.eq(o.row.qty);
    a.cash = a.cash.minus(px.mul(take).mul(o.row.side === 'buy' ? 1 : -1));
    this.set(o, done ? 'filled' : 'partially_filled', { filled_qty: s(cum), filled_avg_price: s(avg), ...(done ? { filled_at: now } : {}) });
    const execId = randomUUID();
    this.activities.push({
      keyId: o.keyId, id: `${now.replace(/\D/g, '').slice(0, 17)}${String(this.actSeq++).padStart(3, '0')}::${execId}`, activity_type: 'FILL', transaction_time: now, type: done ? 'fill' : 'partial_fill',
      price: s(px), qty: s(take), side: o.row.side, symbol: o.row.symbol, leaves_qty: s(D(o.row.qty).minus(cum)), order_id: o.row.id, cum_qty: s(cum), order_status: o.row.status,
    });
    this.push(o, done ? 'fill' : 'partial_fill', { execution_id: execId, price: s(px), qty: s(take), position_qty: s(this.positionQty(o.keyId, o.row.symbol)), timestamp: now });
  }

  private cancel(o: Order, res: http.ServerResponse, fail: (st: number, code: number, msg: string) => void): void {
    if (!['new', 'accepted', 'partially_filled', 'pending_new', 'held'].includes(o.row.status)) return fail(422, 42210000, 'order is not cancelable');
    this.set(o, 'canceled', { canceled_at: new Date().toISOString() });
    this.push(o, 'canceled');
    this.send(res, 204, null);
  }

  private replace(a: Account, o: Order, b: Record<string, unknown>, ok: (b: unknown) => void, fail: (st: number, code: number, msg: string) => void): void {
    if (!['new', 'accepted', 'partially_filled'].includes(o.row.status)) return fail(422, 42210000, 'order is not replaceable');
    const now = new Date().toISOString();
    const next: Order = { keyId: a.keyId, row: { ...o.row, id: randomUUID(), client_order_id: b.client_order_id ? String(b.client_order_id) : randomUUID(), created_at: now, updated_at: now, replaces: o.row.id, replaced_by: null, filled_qty: '0', filled_avg_price: null, status: 'new' } };
    for (const f of ['qty', 'limit_price', 'stop_price', 'time_in_force']) if (b[f] !== undefined) (next.row as Record<string, unknown>)[f] = String(b[f]);
    this.set(o, 'replaced', { replaced_at: now, replaced_by: next.row.id });
    this.orders.set(next.row.id, next);
    this.push(o, 'replaced');
    ok(next.row);
  }

  private positionQty(keyId: string, symbol: string): Decimal {
    return this.activities.filter((x) => x.keyId === keyId && x.symbol === symbol).reduce((acc, x) => acc.plus(D(x.qty).mul(x.side === 'buy' ? 1 : -1)), D(0));
  }

  private positions(keyId: string): unknown[] {
    const out: unknown[] = [];
    for (const symbol of new Set(this.activities.filter((x) => x.keyId === keyId).map((x) => String(x.symbol)))) {
      const rows = this.activities.filter((x) => x.keyId === keyId && x.symbol === symbol);
      const qty = this.positionQty(keyId, symbol);
      if (qty.isZero()) continue;
      const buys = rows.filter((x) => x.side === 'buy');
      const bq = buys.reduce((acc, x) => acc.plus(D(x.qty)), D(0));
      const cost = buys.reduce((acc, x) => acc.plus(D(x.qty).mul(D(x.price))), D(0));
      const q = this.quotes.get(symbol)!;
      out.push({ asset_id: randomUUID(), symbol, exchange: q.exchange, asset_class: 'us_equity', asset_marginable: true, avg_entry_price: s(bq.isZero() ? D(0) : cost.div(bq).toDecimalPlaces(4)), qty: s(qty), qty_available: s(qty), side: qty.gt(0) ? 'long' : 'short', market_value: s(qty.mul(q.last)), cost_basis: s(cost), unrealized_pl: '0', current_price: q.last, lastday_price: q.last, change_today: '0' });
    }
    return out;
  }

  /** POST /oauth/token (form): grant_type=authorization_code, code, client_id, client_secret, redirect_uri. */
  private oauthToken(rawBody: string, contentType: string, res: http.ServerResponse): void {
    if (!contentType.includes('application/x-www-form-urlencoded')) return this.err(res, 400, 40010000, 'form body expected');
    const f = new URLSearchParams(rawBody);
    const app = this.oauthApps.get(f.get('client_id') ?? '');
    const code = this.oauthCodes.get(f.get('code') ?? '');
    if (f.get('grant_type') !== 'authorization_code' || !app || app.secret !== f.get('client_secret')) return this.send(res, 401, { error: 'invalid_client' });
    if (!code || code.clientId !== f.get('client_id') || code.redirectUri !== f.get('redirect_uri')) return this.send(res, 400, { error: 'invalid_grant' });
    this.oauthCodes.delete(f.get('code')!);
    const token = randomUUID();
    this.oauthTokens.set(token, code.keyId);
    this.send(res, 200, { access_token: token, token_type: 'bearer', scope: 'account:write trading' });
  }

  private onSocket(ws: WebSocket): void {
    const state: { keyId?: string; listening: boolean } = { listening: false };
    this.sockets.set(ws, state);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (raw) => {
      let msg: { action?: string; key?: string; secret?: string; data?: { key_id?: string; secret_key?: string; oauth_token?: string; streams?: string[] } };
      try {
        msg = JSON.parse(String(raw));
      } catch {
        return;
      }
      this.streamMessages.push(msg);
      if ((msg.action === 'authenticate' || msg.action === 'auth') && !this.streamAuthForms.has(msg.action)) {
        this.frame(ws, { stream: 'authorization', data: { action: msg.action, status: 'unauthorized' } });
        ws.close();
      } else if (msg.action === 'authenticate' && msg.data?.oauth_token !== undefined) {
        // OAuth: {"action":"authenticate","data":{"oauth_token":"…"}}.
        const a = this.accounts.get(this.oauthTokens.get(msg.data.oauth_token) ?? '');
        const authorized = Boolean(a && a.valid);
        if (authorized) state.keyId = a!.keyId;
        this.frame(ws, { stream: 'authorization', data: { action: 'authenticate', status: authorized ? 'authorized' : 'unauthorized' } });
        if (!authorized) ws.close();
      } else if (msg.action === 'authenticate' || msg.action === 'auth') {
        // Both documented forms: {"action":"authenticate","data":{"key_id","secret_key"}} and {"action":"auth","key","secret"}.
        const key = msg.data?.key_id ?? msg.key;
        const secret = msg.data?.secret_key ?? msg.secret;
        const a = this.accounts.get(String(key));
        const authorized = Boolean(a && a.valid && a.secretKey === secret);
        if (authorized) state.keyId = a!.keyId;
        this.frame(ws, { stream: 'authorization', data: { action: 'authenticate', status: authorized ? 'authorized' : 'unauthorized' } });
        if (!authorized) ws.close();
      } else if (msg.action === 'listen') {
        if (!state.keyId) return this.frame(ws, { stream: 'authorization', data: { action: 'listen', status: 'unauthorized' } });
        const streams = (msg.data?.streams ?? []).filter((x) => x === 'trade_updates');
        state.listening = streams.length > 0;
        this.frame(ws, { stream: 'listening', data: { streams } });
      }
    });
  }

  private frame(ws: WebSocket, msg: unknown): void {
    ws.send(this.binaryFrames ? Buffer.from(JSON.stringify(msg)) : JSON.stringify(msg), { binary: this.binaryFrames });
  }

  private push(o: Order, event: string, extra: Record<string, unknown> = {}): void {
    if (this.dropPushes) return;
    const msg = { stream: 'trade_updates', data: { event, order: { ...o.row }, timestamp: new Date().toISOString(), ...extra } };
    for (const [ws, st] of this.sockets) {
      if (st.keyId !== o.keyId || !st.listening) continue;
      this.frame(ws, msg);
      if (this.duplicatePushes) this.frame(ws, msg);
    }
  }
}
