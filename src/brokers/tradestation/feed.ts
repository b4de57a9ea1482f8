import type { Logger } from '../../lib/logger.js';
import { BrokerAuthError } from '../broker.js';
import type { BrokerSessions } from '../connections/sessions.js';
import type { TradeStationApi } from './api.js';
import type { OrderObserver } from './order-observer.js';
import { ChunkedJsonStream } from './stream.js';
import { PositionsStream } from './positions-stream.js';
import type { TsOrder, TsPosition } from './wire.js';

/** What the feed takes of the adapter's options (TradeStationAdapterOptions documents each). */
export interface TradeStationFeedOptions {
  streams?: boolean;
  minPollIntervalMs?: number;
  streamIdleMs?: number;
  sessions: BrokerSessions;
  logger: Logger;
}

/**
 * Where fills and order endings come from besides the adapter's own reads: each active connection's
 * order and positions streams, and polling of its order list (at most every minPollIntervalMs), which
 * opens the streams and finds what a lost push missed.
 */
export class TradeStationFeed {
  /** Stream messages of an account, handled one after another (in the order they came). */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly streams = new Map<string, ChunkedJsonStream>();
  private readonly positionStreams = new Map<string, PositionsStream>();
  private readonly lastPoll = new Map<string, number>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly opts: TradeStationFeedOptions,
    private readonly api: TradeStationApi,
    private readonly observer: OrderObserver,
  ) {}

  /** The positions of a connection's stream while it is connected and past its snapshot, else null. */
  positions(account: string): TsPosition[] | null | undefined {
    return this.positionStreams.get(account)?.positions();
  }

  /** Open a connection's order and positions streams unless they are open. */
  private ensureStream(account: string): void {
    if (this.opts.streams === false || this.closed) return;
    const s = this.streams.get(account);
    if (!s || s.state === 'closed') this.openOrderStream(account);
    const p = this.positionStreams.get(account);
    if (!p || p.state === 'closed') this.positionStreams.set(account, new PositionsStream({ account, idleMs: this.opts.streamIdleMs, logger: this.opts.logger, open: () => this.api.streamTarget(account, 'positions') }));
  }

  private openOrderStream(account: string): void {
    const stream = new ChunkedJsonStream({
      idleMs: this.opts.streamIdleMs,
      open: () => this.api.streamTarget(account, 'orders'),
      onMessage: (m) => {
        if (typeof m.OrderID === 'string') {
          const next = (this.chains.get(account) ?? Promise.resolve())
            .then(() => this.observer.handleStreamOrder(account, m as unknown as TsOrder))
            .catch((err: Error) => this.opts.logger.warn({ err: { name: err.name, message: err.message }, connectionId: account }, 'TradeStation order update not applied'));
          this.chains.set(account, next);
        } else if (m.Error) this.opts.logger.warn({ connectionId: account, error: String(m.Error), message: String(m.Message ?? '').slice(0, 200) }, 'TradeStation order stream reported an error');
      },
      onDrop: (reason, err) => {
        if (err instanceof BrokerAuthError) return { fatal: true };
        this.opts.logger.debug({ connectionId: account, reason }, 'TradeStation order stream dropped; reconnecting');
      },
    });
    this.streams.set(account, stream);
  }

  /** The order (or positions) stream's state of a connection (for tests and health), and how often it connected. */
  streamState(account: string, kind: 'orders' | 'positions' = 'orders'): { state: string; connects: number } | undefined {
    const s = kind === 'orders' ? this.streams.get(account) : this.positionStreams.get(account);
    return s && { state: s.state, connects: s.connects };
  }

  /** Poll every `intervalMs` (the leader worker runs it): opens streams, finds what a lost push missed. */
  startPolling(intervalMs: number): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => void this.poll(), intervalMs);
    this.pollTimer.unref();
    void this.poll();
  }

  async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const active = await this.opts.sessions.active(this.name).catch((err: Error) => {
        // The connections could not be listed (the database is away, or closing): the next pass tries
        // again; never a rejection out of the poll timer's callback.
        this.opts.logger.warn({ err: { name: err.name, message: err.message } }, `TradeStation poll could not list connections`);
        return null;
      });
      if (!active) return;
      for (const c of active) {
        try {
          this.ensureStream(c.connectionId);
          await this.pollAccount(c.connectionId);
        } catch (err) {
          if (!(err instanceof BrokerAuthError)) this.opts.logger.warn({ err: { name: (err as Error).name, message: (err as Error).message }, connectionId: c.connectionId }, 'TradeStation poll failed');
        }
      }
      for (const map of [this.streams, this.positionStreams] as Array<Map<string, { close(): void }>>) {
        for (const [account, s] of map) {
          if (!active.some((c) => c.connectionId === account)) {
            s.close();
            map.delete(account);
          }
        }
      }
    } finally {
      this.polling = false;
    }
  }

  /** Read an account's orders back (at most every minPollIntervalMs) and observe ours. */
  private async pollAccount(account: string): Promise<void> {
    const last = this.lastPoll.get(account) ?? 0;
    if (Date.now() - last < (this.opts.minPollIntervalMs ?? 2_400)) return;
    this.lastPoll.set(account, Date.now());
    for (const o of await this.api.rawOrders(account)) {
      const mine = await this.observer.oursOf(account, o.OrderID);
      if (mine) this.observer.observe(account, o, mine);
    }
  }

  /** Stop polling and close every stream; nothing opens again. */
  close(): void {
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    for (const s of [...this.streams.values(), ...this.positionStreams.values()]) s.close();
    this.streams.clear();
    this.positionStreams.clear();
  }
}
