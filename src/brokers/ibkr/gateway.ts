import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { BrokerRateLimitedError, BrokerTransientError } from '../broker.js';
import { AccountThrottle } from '../connections/throttle.js';
import type { WireRequest, WireResponse } from '../connections/wire-http.js';
import type { IbkrAuthStatus } from './wire.js';

/** Endpoint classes with their own documented limits, beside the gateway-wide 10 requests/s. */
export type IbkrCallClass = 'all' | 'orders' | 'trades' | 'accounts';

/**
 * Documented limits through the CP Gateway (BROKERS.md §8 "Limits"): 10 requests/s in all;
 * `/iserver/account/orders` and `/iserver/account/trades` 1 per 5 s; `/portfolio/accounts` 1 per 5 s.
 * Drawn from the shared rate limiter (Redis in the scaled mode), keyed by the gateway, not the account:
 * every account behind one gateway shares its budget.
 */
const BUDGETS: Record<IbkrCallClass, Array<{ limit: number; windowMs: number }>> = {
  // 10 per second, counted here over 1.25 s: IB counts by arrival, and requests permitted a second apart
  // can arrive closer (a stalled event loop, a slow socket); a breach costs 10 minutes in the penalty box.
  all: [{ limit: 10, windowMs: 1_250 }],
  // 1 per 5 s, counted here over 6 s: such a permit waits for the 10/s one (under a second) before it is
  // sent, and the next must not arrive inside IB's 5 s.
  orders: [{ limit: 1, windowMs: 6_000 }],
  trades: [{ limit: 1, windowMs: 6_000 }],
  accounts: [{ limit: 1, windowMs: 6_000 }],
};

export interface IbkrGatewayOptions {
  /** The gateway's API root, e.g. https://localhost:5000/v1/api. */
  baseUrl: string;
  /** Accept the gateway's self-signed certificate (BROKER_IBKR_INSECURE_TLS; the local CP Gateway has one). */
  insecureTls?: boolean;
  limiter: RateLimiter;
  logger: Logger;
  /** How long every request stops after a 429 (documented: 10 minutes). */
  penaltyMs?: number;
  timeoutMs?: number;
  /**
   * Longest in-place wait for a budget (default 13 s): two of the 1-per-5-s endpoints' windows, since a
   * waiter can lose the permit it woke for to a poll pass (which takes a free permit without waiting).
   */
  maxWaitMs?: number;
}

/**
 * HTTP to the user's Client Portal Gateway: the throttle, the penalty box, and the brokerage session
 * (tickle, auth status, re-authentication). The gateway holds the login; requests carry no credentials.
 * Errors name the method and path only.
 */
export class IbkrGateway {
  private readonly throttle: AccountThrottle<IbkrCallClass>;
  /** The same budgets, never waited for (a poll pass skips instead). */
  private readonly tryThrottle: AccountThrottle<IbkrCallClass>;
  private readonly agent: http.Agent;
  private readonly key: string;
  /** Until when no request may go out, as this process last saw the shared penalty box (after a 429). */
  private penaltyUntil = 0;
  /** The session id the last /tickle returned (the websocket authenticates with it). */
  session: string | null = null;

  constructor(private readonly opts: IbkrGatewayOptions) {
    const u = new URL(opts.baseUrl);
    this.key = `gw-${u.host}`;
    this.throttle = new AccountThrottle({ broker: 'ibkr', limiter: opts.limiter, budgets: BUDGETS, maxWaitMs: opts.maxWaitMs ?? 13_000 });
    this.tryThrottle = new AccountThrottle({ broker: 'ibkr', limiter: opts.limiter, budgets: BUDGETS, maxWaitMs: 0 });
    // An idle keep-alive socket is closed by us a second before the gateway announces it will close it
    // (Node reads the Keep-Alive hint only when the agent has a timeout of its own), and after 30 s at most.
    const keepAlive = { keepAlive: true, timeout: 30_000 };
    this.agent = u.protocol === 'https:' ? new https.Agent({ ...keepAlive, rejectUnauthorized: !opts.insecureTls }) : new http.Agent(keepAlive);
  }

  get baseUrl(): string {
    return this.opts.baseUrl.replace(/\/+$/, '');
  }

  /** Milliseconds left in the penalty box as this process last saw it (0: free). */
  penaltyLeftMs(): number {
    return Math.max(0, this.penaltyUntil - Date.now());
  }

  /** The penalty box as every process sees it: a 429 met by any worker on this gateway stops them all. */
  private async sharedPenaltyMs(): Promise<number> {
    const local = this.penaltyLeftMs();
    if (local > 0) return local;
    const shared = await this.opts.limiter.blockedFor(`ibkr:${this.key}:penalty`);
    if (shared > 0) this.penaltyUntil = Date.now() + shared;
    return shared;
  }

  url(path: string, query?: WireRequest['query']): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) u.searchParams.append(k, one);
    }
    return u.toString();
  }

  /** One request through the budget; a 429 puts every request to this gateway, from any process, in the penalty box. */
  async send(req: WireRequest, cls: IbkrCallClass = 'all', noWait = false): Promise<WireResponse> {
    const left = await this.sharedPenaltyMs();
    if (left > 0) throw new BrokerRateLimitedError(left);
    // The endpoint's own budget first (a poll pass is skipped there, before drawing on the rest), then the
    // gateway-wide 10/s right before sending: a request never leaves on a permit that has run out.
    if (cls !== 'all') await (noWait ? this.tryThrottle : this.throttle).take(this.key, cls);
    await this.throttle.take(this.key, 'all');
    const res = await this.once(req);
    if (res.status === 429) {
      const penalty = this.opts.penaltyMs ?? 600_000;
      this.penaltyUntil = Date.now() + penalty;
      await this.opts.limiter.block(`ibkr:${this.key}:penalty`, penalty);
      this.opts.logger.warn({ path: req.path, penaltyMs: penalty }, 'IBKR gateway answered 429: in the penalty box, no requests until it ends');
      throw new BrokerRateLimitedError(penalty);
    }
    return res;
  }

  /**
   * One HTTP exchange. A request that fails on a reused keep-alive socket before any answer (ECONNRESET,
   * "socket hang up") most likely met the gateway closing that idle socket as we sent on it; one that is
   * safe to repeat is sent once more, on a new socket. An order ticket or a reply to a warning is
   * not repeated here: its outcome is the order loop's to find out (by cOID).
   */
  private once(req: WireRequest, retried = false): Promise<WireResponse> {
    const url = new URL(this.url(req.path, req.query));
    const body = req.json !== undefined ? JSON.stringify(req.json) : undefined;
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'TradeGraph', ...req.headers };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<WireResponse>((resolve, reject) => {
      let answered = false;
      const r = mod.request(url, { method: req.method, headers, agent: this.agent, timeout: this.opts.timeoutMs ?? 10_000 }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          if (text) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
          }
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: h, body: parsed });
        });
        res.on('error', () => reject(new BrokerTransientError(`IBKR ${req.method} ${req.path}: response interrupted`)));
      });
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (r.reusedSocket && !retried && !answered && repeatable(req) && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          resolve(this.once(req, true));
          return;
        }
        reject(new BrokerTransientError(`IBKR ${req.method} ${req.path}: no response from the gateway (network error or timeout)`));
      });
      if (body !== undefined) r.write(body);
      r.end();
    });
  }

  /** POST /tickle: keeps the session alive; answers the session id and the brokerage auth status. */
  async tickle(): Promise<IbkrAuthStatus> {
    const res = await this.send({ method: 'POST', path: '/tickle' });
    if (res.status === 401) return { authenticated: false, connected: false };
    const b = (res.body ?? {}) as { session?: string; iserver?: { authStatus?: IbkrAuthStatus } };
    if (typeof b.session === 'string') this.session = b.session;
    return b.iserver?.authStatus ?? (await this.authStatus());
  }

  /** POST /iserver/auth/status: authenticated / competing / connected. */
  async authStatus(): Promise<IbkrAuthStatus> {
    const res = await this.send({ method: 'POST', path: '/iserver/auth/status' });
    if (res.status !== 200 || typeof res.body !== 'object' || res.body === null) return { authenticated: false, connected: false };
    return res.body as IbkrAuthStatus;
  }

  /**
   * Bring the brokerage session back: POST /iserver/reauthenticate, then (still not authenticated, or
   * competing) POST /iserver/auth/ssodh/init {publish, compete}. True when the gateway is usable again;
   * false when only a fresh login at the gateway can help.
   */
  async reauthenticate(): Promise<boolean> {
    await this.send({ method: 'POST', path: '/iserver/reauthenticate' }).catch(() => undefined);
    let s = await this.authStatus().catch(() => ({}) as IbkrAuthStatus);
    if (usable(s)) return true;
    await this.send({ method: 'POST', path: '/iserver/auth/ssodh/init', json: { publish: true, compete: true } }).catch(() => undefined);
    s = await this.authStatus().catch(() => ({}) as IbkrAuthStatus);
    return usable(s);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Reads and the session's own calls, which change nothing when sent twice (unlike an order ticket, a modify or a reply). */
function repeatable(req: WireRequest): boolean {
  return req.method === 'GET' || SESSION_CALLS.has(req.path);
}
const SESSION_CALLS = new Set(['/tickle', '/iserver/auth/status', '/iserver/reauthenticate', '/iserver/auth/ssodh/init']);

/** A brokerage session orders can go through. */
export function usable(s: IbkrAuthStatus): boolean {
  return s.authenticated === true && s.competing !== true && s.connected !== false;
}
