import { dec, ZERO } from '../../lib/decimal.js';
import type { Logger } from '../../lib/logger.js';
import { BrokerAuthError, BrokerRateLimitedError, type BrokerEvent, type BrokerFill, type BrokerOrder } from '../broker.js';
import type { BrokerSessions } from '../connections/sessions.js';
import type { IbkrAdapter } from './adapter.js';
import type { IbkrGateway } from './gateway.js';
import { IbkrStream } from './stream.js';
import { coidOf, liveToOrder, tradeToFill, type IbkrLiveOrder, type IbkrTrade } from './wire.js';
import { OnceEvents } from '../connections/once-events.js';

const ENDINGS = new Set(['CANCELED', 'EXPIRED', 'REJECTED']);

/**
 * Where IBKR fills and order endings come from: the gateway websocket (`sor`, `str`) and polling
 * (`/iserver/account/trades` and `/iserver/account/orders`, each at most once per 5 s, skipped rather
 * than waited for in a poll pass), plus the /tickle keep-alive. Executions are kept by execution_id,
 * so a fill seen on both paths is one fill.
 */
export class IbkrFeed {
  private readonly trades = new Map<string, Map<string, IbkrTrade>>();
  private readonly once = new OnceEvents();
  /** IB account id → our connection ids (refreshed each pass). */
  private accounts = new Map<string, string[]>();
  private stream: IbkrStream | null = null;
  private streamOpenedAt = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private tickleTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;
  private turn = 0;

  constructor(
    private readonly d: { adapter: IbkrAdapter; gateway: IbkrGateway; sessions: BrokerSessions; logger: Logger; wsUrl?: string; insecureTls?: boolean; tickleMs?: number },
  ) {}

  /** GET /iserver/account/orders for one IB account (1 per 5 s: waited for here). */
  async liveOrders(account: string, wait = true): Promise<IbkrLiveOrder[]> {
    const ib = await this.d.adapter.ibAccount(account);
    const req = { method: 'GET' as const, path: '/iserver/account/orders', query: { accountId: ib, force: 'true' } };
    const res = wait ? await this.d.adapter.call<{ orders?: IbkrLiveOrder[] }>(account, req, 'orders', 'orders') : await this.tryCall<{ orders?: IbkrLiveOrder[] }>(account, req, 'orders');
    return (res?.orders ?? []).filter((o) => !o.acct || o.acct === ib);
  }

  async orders(account: string): Promise<BrokerOrder[]> {
    const rows = await this.liveOrders(account);
    const out: BrokerOrder[] = [];
    for (const o of rows) out.push(await this.toOrder(account, o));
    return out;
  }

  private async toOrder(account: string, o: IbkrLiveOrder): Promise<BrokerOrder> {
    const cid = (o.order_ref ? await this.d.adapter.clientIdOfRef(account, o.order_ref) : null) ?? (await this.d.adapter.clientIdOfOrder(account, String(o.orderId))) ?? o.order_ref ?? '';
    const inst = this.d.adapter.instrumentOf(o.conid);
    return liveToOrder(o, cid, inst?.exchange ?? '', new Date());
  }

  /** One budgeted call that is skipped (null) rather than waited for when the budget is spent. */
  private async tryCall<T>(account: string, req: Parameters<IbkrGateway['send']>[0], cls: 'orders' | 'trades'): Promise<T | null> {
    try {
      return await this.d.adapter.call<T>(account, req, cls, cls, true);
    } catch (err) {
      if (err instanceof BrokerRateLimitedError && this.d.gateway.penaltyLeftMs() === 0) return null;
      throw err;
    }
  }

  private remember(t: IbkrTrade): void {
    const key = (t.account ?? t.accountCode ?? '*').toUpperCase();
    let m = this.trades.get(key);
    if (!m) this.trades.set(key, (m = new Map()));
    m.set(t.execution_id, t);
  }

  /** GET /iserver/account/trades (every account of the gateway): remembered, and emitted as fills. */
  private async fetchTrades(account: string, wait: boolean): Promise<void> {
    const req = { method: 'GET' as const, path: '/iserver/account/trades' };
    const rows = wait ? await this.d.adapter.call<IbkrTrade[]>(account, req, 'trades', 'trades') : await this.tryCall<IbkrTrade[]>(account, req, 'trades');
    if (Array.isArray(rows)) await this.onTrades(rows);
  }

  /** The executions of one order: from what was seen, and from the trades endpoint if that falls short. */
  async fillsOf(account: string, o: BrokerOrder): Promise<BrokerFill[]> {
    const ib = await this.d.adapter.ibAccount(account);
    const coid = o.clientOrderId ? coidOf(o.clientOrderId) : null;
    const collect = () =>
      [...(this.trades.get(ib) ?? new Map<string, IbkrTrade>()).values()].filter((t) => String(t.order_id ?? '') === o.brokerOrderId || (coid !== null && t.order_ref === coid));
    let mine = collect();
    const total = () => mine.reduce((a, t) => a.plus(dec(String(t.size))), ZERO);
    if (!total().eq(o.filledQuantity)) {
      await this.fetchTrades(account, true);
      mine = collect();
    }
    return mine.map((t) => tradeToFill(t, o.brokerOrderId, o.clientOrderId));
  }

  private emit(e: BrokerEvent): void {
    if (!this.once.first(e)) return;
    this.d.adapter.emit(e);
  }

  private connectionsOf(ib: string | undefined): string[] {
    if (ib) return this.accounts.get(ib.toUpperCase()) ?? [];
    return [...this.accounts.values()].flat();
  }

  /** Executions (websocket `str` or the trades endpoint): ours become fill events. */
  async onTrades(rows: IbkrTrade[]): Promise<void> {
    const a = this.d.adapter;
    for (const t of rows) {
      if (!t?.execution_id) continue;
      this.remember(t);
      for (const conn of this.connectionsOf(t.account ?? t.accountCode)) {
        const cid = (t.order_ref ? await a.clientIdOfRef(conn, t.order_ref) : null) ?? (t.order_id !== undefined ? await a.clientIdOfOrder(conn, String(t.order_id)) : null);
        if (!cid) continue;
        const orderId = t.order_id !== undefined ? String(t.order_id) : await a.orderIdOf(conn, cid);
        if (!orderId) continue;
        this.emit({ kind: 'fill', account: conn, fill: tradeToFill(t, orderId, cid) });
      }
    }
  }

  /** Order updates (websocket `sor` or the orders endpoint): ours that ended become order events. */
  async onOrders(rows: IbkrLiveOrder[]): Promise<void> {
    for (const o of rows) {
      if (o?.orderId === undefined) continue;
      for (const conn of this.connectionsOf(o.acct)) {
        const order = await this.toOrder(conn, o);
        const ours = await this.d.adapter.clientIdOfOrder(conn, String(o.orderId));
        if (!ours || !ENDINGS.has(order.status)) continue;
        this.emit({ kind: 'order', account: conn, order: { ...order, clientOrderId: ours } });
      }
    }
  }

  private async refreshAccounts(): Promise<Array<{ connectionId: string }>> {
    const active = await this.d.sessions.active('ibkr');
    const next = new Map<string, string[]>();
    for (const c of active) {
      const ib = (c.accountId ?? '').toUpperCase();
      if (!ib) continue;
      next.set(ib, [...(next.get(ib) ?? []), c.connectionId]);
    }
    this.accounts = next;
    return active;
  }

  streamOpen(): boolean {
    return Boolean(this.stream?.open && this.stream.subscribed);
  }

  private ensureStream(): void {
    if (!this.d.wsUrl || this.stopped) return;
    if (this.stream?.open || Date.now() - this.streamOpenedAt < 1_000) return;
    this.streamOpenedAt = Date.now();
    const warn = (what: string) => (err: Error) => this.d.logger.warn({ err: { name: err.name, message: err.message } }, what);
    this.stream = new IbkrStream(this.d.wsUrl, this.d.gateway.session, Boolean(this.d.insecureTls), {
      orders: (rows) => void this.onOrders(rows).catch(warn('IBKR order update not applied')),
      trades: (rows) => void this.onTrades(rows).catch(warn('IBKR trade not applied')),
      sessionLost: () => void this.d.adapter.keepAlive().catch(warn('IBKR keep-alive failed')),
    });
  }

  start(intervalMs: number): void {
    if (this.pollTimer || this.stopped) return;
    this.pollTimer = setInterval(() => void this.poll(), intervalMs);
    this.pollTimer.unref();
    const tickle = async () => {
      try {
        if ((await this.d.sessions.active('ibkr')).length === 0) return; // no one uses the gateway: leave it alone
        await this.d.adapter.keepAlive();
      } catch (err) {
        // The next tickle tries again; never a rejection out of the timer's callback.
        this.d.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message } }, 'IBKR keep-alive failed');
      }
    };
    this.tickleTimer = setInterval(() => void tickle(), this.d.tickleMs ?? 60_000);
    this.tickleTimer.unref();
    void tickle().then(() => this.poll());
  }

  /** One pass: the socket reopened, the trades read (if the budget allows), one account's orders checked. */
  async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const active = await this.refreshAccounts();
      if (active.length === 0) return;
      if (this.d.gateway.penaltyLeftMs() > 0) return;
      if (!this.d.gateway.session) await this.d.adapter.keepAlive().catch(() => false);
      this.ensureStream();
      const first = active[0].connectionId;
      await this.fetchTrades(first, false);
      const c = active[this.turn++ % active.length];
      const rows = await this.liveOrders(c.connectionId, false);
      await this.onOrders(rows);
    } catch (err) {
      if (!(err instanceof BrokerAuthError)) this.d.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message } }, 'IBKR poll failed');
    } finally {
      this.polling = false;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.tickleTimer) clearInterval(this.tickleTimer);
    this.stream?.close();
    this.stream = null;
  }
}


