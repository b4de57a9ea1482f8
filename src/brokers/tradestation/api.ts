import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.js';
import { BrokerAuthError } from '../broker.js';
import type { BrokerSessions } from '../connections/sessions.js';
import { WireHttp, type WireRequest } from '../connections/wire-http.js';
import { AccountThrottle } from '../connections/throttle.js';
import { TradeStationRefusal, bearer, unwrap, type TsOrder } from './wire.js';

export type Category = 'accounts' | 'orders' | 'balances' | 'positions' | 'execution' | 'quotes';

/**
 * TradeStation's documented quotas (api.tradestation.com/docs/fundamentals/rate-limiting), per user, in
 * fixed 5-minute windows: Accounts, Order Details, Balances and Positions 250 each; Quote Snapshot 30 per
 * minute. Order placement, replace and cancel have no published quota: none is imposed here, and a 429
 * is waited out (Retry-After) like everywhere else.
 */
export const FIVE_MIN = 300_000;
const BUDGETS: Record<Category, RateLimit[]> = {
  accounts: [{ limit: 250, windowMs: FIVE_MIN }],
  orders: [{ limit: 250, windowMs: FIVE_MIN }],
  balances: [{ limit: 250, windowMs: FIVE_MIN }],
  positions: [{ limit: 250, windowMs: FIVE_MIN }],
  execution: [],
  quotes: [{ limit: 30, windowMs: 60_000 }],
};

export interface TradeStationApiOptions {
  baseUrl: string;
  sessions: BrokerSessions;
  limiter: RateLimiter;
  timeoutMs?: number;
}

/**
 * The authenticated side of TradeStation API v3 for one adapter: a connection's session and AccountID,
 * the per-category quotas, the REST calls, the order reads and the streams' URLs.
 */
export class TradeStationApi {
  readonly http: WireHttp;
  private readonly throttle: AccountThrottle<Category>;

  constructor(
    broker: string,
    private readonly opts: TradeStationApiOptions,
  ) {
    this.http = new WireHttp({ broker: 'TradeStation', baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs });
    this.throttle = new AccountThrottle({ broker, limiter: opts.limiter, budgets: BUDGETS });
  }

  /** One authenticated call: session (fail fast if not ACTIVE), the category's quota, the request. */
  async call<T>(account: string, cat: Category, req: (tsAccount: string) => WireRequest, what: string): Promise<T> {
    const c = await this.opts.sessions.open(account);
    const tsAccount = c.accountId ?? c.session.accountId;
    if (!tsAccount) throw new BrokerAuthError('TradeStation connection has no account; reconnect it');
    await this.throttle.take(account, cat);
    const r = req(tsAccount);
    const res = await this.http.send({ ...r, headers: { ...r.headers, ...bearer(c.session.accessToken) } });
    try {
      return unwrap<T>(res, what);
    } catch (err) {
      if (err instanceof BrokerAuthError) await this.opts.sessions.expire(account, 'TradeStation refused the access token (401)');
      throw err;
    }
  }

  async tsAccountOf(account: string): Promise<string> {
    const c = await this.opts.sessions.open(account);
    const id = c.accountId ?? c.session.accountId;
    if (!id) throw new BrokerAuthError('TradeStation connection has no account; reconnect it');
    return id;
  }

  /** Today's and open orders by id, then the historical ones (90 days). */
  async fetchOrder(account: string, orderId: string): Promise<TsOrder | null> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(orderId)) return null;
    const id = encodeURIComponent(orderId);
    const since = new Date(Date.now() - 89 * 86_400_000).toISOString().slice(0, 10);
    for (const [path, query] of [
      [(a: string) => `/brokerage/accounts/${a}/orders/${id}`, undefined],
      [(a: string) => `/brokerage/accounts/${a}/historicalorders/${id}`, { since }],
    ] as const) {
      try {
        const body = await this.call<{ Orders?: TsOrder[] }>(account, 'orders', (a) => ({ method: 'GET', path: path(encodeURIComponent(a)), query }), 'order');
        const o = body?.Orders?.find((x) => x.OrderID === orderId);
        if (o) return o;
      } catch (err) {
        if (!(err instanceof TradeStationRefusal && (err.status === 404 || err.status === 400))) throw err;
      }
    }
    return null;
  }

  /** Today's orders and every open one (`GET /brokerage/accounts/{id}/orders`, paged by nextToken). */
  async rawOrders(account: string): Promise<TsOrder[]> {
    const out: TsOrder[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 10; page++) {
      const body = await this.call<{ Orders?: TsOrder[]; NextToken?: string }>(
        account,
        'orders',
        (a) => ({ method: 'GET', path: `/brokerage/accounts/${encodeURIComponent(a)}/orders`, query: { pageSize: '600', nextToken } }),
        'orders',
      );
      out.push(...(body?.Orders ?? []));
      nextToken = body?.NextToken;
      if (!nextToken) break;
    }
    return out;
  }

  /** A stream's URL with the connection's current (fresh) access token. */
  async streamTarget(account: string, kind: 'orders' | 'positions'): Promise<{ url: string; headers: Record<string, string> }> {
    const c = await this.opts.sessions.open(account);
    const tsAccount = c.accountId ?? c.session.accountId ?? '';
    return { url: this.http.url(`/brokerage/stream/accounts/${encodeURIComponent(tsAccount)}/${kind}`), headers: bearer(c.session.accessToken) };
  }
}
