import { and, asc, eq, gt, inArray, lt, or } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { outboxEvents, portfolios } from '../db/schema/index.js';
import { assertReplayWindow } from '../events/outbox-retention.js';
import type { Principal } from '../auth/tokens.js';
import { BadInputError, NotFoundError } from '../errors.js';
import type { PubSub, Unsubscribe } from '../events/pubsub.js';
import type { PortfolioEventMessage, PortfolioEventType, QuoteMessage } from '../events/topics.js';
import { toAsyncIterator, type SubscriptionIterator } from '../events/async-iterator.js';
import { toMessage } from '../events/outbox.js';
import { liveQuotes } from '../market/quote-fanout.js';
import type { PortfolioService } from './portfolio.service.js';
import type { InstrumentService } from './instrument.service.js';
import { AccessPolicy } from './people/access.policy.js';

export const MAX_QUOTE_SYMBOLS = 100;
const REPLAY_LIMIT = 10_000;

/**
 * Live portfolio events for subscriptions: replay from the outbox after `afterSequence`, then live,
 * in sequence order with no gaps and no duplicates (delivery from the relay is at least once, and two
 * processes may publish out of order; a gap is filled from the outbox, a repeat is dropped).
 */
export class EventService {
  constructor(private readonly deps: { db: Db; pubsub: PubSub; portfolios: PortfolioService; instruments: InstrumentService; policy?: Pick<AccessPolicy, 'readablePortfolios'> }) {
    this.policy = deps.policy ?? new AccessPolicy({ db: deps.db });
  }

  private readonly policy: Pick<AccessPolicy, 'readablePortfolios'>;
  /**
   * Open streams by the users whose access change concerns them: the viewer and each portfolio's owner.
   * Access is decided when a stream opens; an `access-changed` message (a role or an advisor changed)
   * marks the streams of those users stale, and each re-checks once before it delivers anything more.
   * Nothing is asked per event, so 10,000 subscribers cost nothing until someone's access changes.
   */
  private readonly watchers = new Map<string, Set<SequencedStream>>();
  /** Access changes heard so far: a change heard while a stream was being opened marks it stale at once. */
  private changes = 0;
  private watching: Promise<Unsubscribe> | null = null;

  private watch(): Promise<Unsubscribe> {
    this.watching ??= this.deps.pubsub.subscribe('access-changed', '*', ({ userIds }) => this.accessChanged(userIds)).catch((err: unknown) => {
      this.watching = null;
      throw err;
    });
    return this.watching;
  }

  /** These users' access changed: every stream involving them re-checks before its next event. */
  accessChanged(userIds: readonly string[]): void {
    this.changes++;
    for (const id of userIds) for (const s of this.watchers.get(id) ?? []) s.markStale();
  }

  async stop(): Promise<void> {
    const w = this.watching;
    this.watching = null;
    if (w) await (await w.catch(() => async () => {}))();
  }

  async stream(
    viewer: Principal,
    opts: {
      portfolioId?: string | null;
      afterSequence?: number | null;
      after?: readonly { portfolioId: string; sequence: number }[] | null;
      types: PortfolioEventType[];
    },
  ): Promise<AsyncIterableIterator<PortfolioEventMessage>> {
    const cursors = replayCursors(opts);
    await this.watch();
    const since = this.changes;
    const ids = opts.portfolioId
      ? [(await this.deps.portfolios.get(viewer, opts.portfolioId)).id]
      : (await this.deps.portfolios.list(viewer)).map((p) => p.id);
    for (const id of cursors.keys()) if (!ids.includes(id)) throw new NotFoundError('Portfolio', id); // only yours
    // Outbox retention may have pruned what a cursor needs: say so (REPLAY_WINDOW_EXPIRED) rather than skip it.
    if (cursors.size) await assertReplayWindow(this.deps.db, [...cursors].map(([portfolioId, afterSequence]) => ({ portfolioId, afterSequence })));
    const live = toAsyncIterator<PortfolioEventMessage>(async (push) => {
      const unsubs = await Promise.all(ids.map((id) => this.deps.pubsub.subscribe('portfolio-events', id, push)));
      return async () => {
        await Promise.all(unsubs.map((u) => u()));
      };
    });
    await live.ready;
    // Only after the subscription is live do we read where each portfolio stands, so nothing falls between.
    const last = new Map<string, number>();
    const backlog: PortfolioEventMessage[] = [];
    const involved = new Set([viewer.userId]);
    if (ids.length) {
      const rows = await this.deps.db.select({ id: portfolios.id, seq: portfolios.eventSequence, ownerId: portfolios.ownerId }).from(portfolios).where(inArray(portfolios.id, ids));
      for (const r of rows) {
        last.set(r.id, cursors.get(r.id) ?? r.seq);
        involved.add(r.ownerId);
      }
      const replayed = [...cursors].filter(([id]) => last.has(id));
      if (replayed.length) {
        const replay = await this.deps.db
          .select()
          .from(outboxEvents)
          .where(or(...replayed.map(([id, seq]) => and(eq(outboxEvents.portfolioId, id), gt(outboxEvents.sequence, seq)))))
          .orderBy(asc(outboxEvents.portfolioId), asc(outboxEvents.sequence))
          .limit(REPLAY_LIMIT);
        for (const r of replay) {
          backlog.push(toMessage(r));
          last.set(r.portfolioId, Math.max(last.get(r.portfolioId) ?? 0, r.sequence));
        }
      }
    }
    const stream: SequencedStream = new SequencedStream(live, last, backlog, new Set(opts.types), (pid, from, to) => this.gap(pid, from, to), {
      // The portfolios the subscriber named: losing one ends the stream with NOT_FOUND; others just stop.
      named: new Set(opts.portfolioId ? [opts.portfolioId] : cursors.keys()),
      recheck: () => this.policy.readablePortfolios(viewer, ids),
      release: () => {
        for (const u of involved) {
          const set = this.watchers.get(u);
          set?.delete(stream);
          if (set?.size === 0) this.watchers.delete(u);
        }
      },
    });
    for (const u of involved) {
      const set = this.watchers.get(u) ?? new Set<SequencedStream>();
      set.add(stream);
      this.watchers.set(u, set);
    }
    if (this.changes !== since) stream.markStale();
    return stream;
  }

  private async gap(portfolioId: string, after: number, before: number): Promise<PortfolioEventMessage[]> {
    const rows = await this.deps.db
      .select()
      .from(outboxEvents)
      .where(and(eq(outboxEvents.portfolioId, portfolioId), gt(outboxEvents.sequence, after), lt(outboxEvents.sequence, before)))
      .orderBy(asc(outboxEvents.sequence));
    return rows.map(toMessage);
  }

  /** Quotes for up to 100 symbols ("AAPL" or "NSE:RELIANCE"): the current quote first, then every tick. */
  async quotes(symbols: string[]): Promise<AsyncIterableIterator<QuoteMessage>> {
    if (symbols.length === 0 || symbols.length > MAX_QUOTE_SYMBOLS) {
      throw new BadInputError(`symbols must list 1 to ${MAX_QUOTE_SYMBOLS} symbols`, 'symbols');
    }
    const insts = await Promise.all(
      symbols.map((s) => {
        const [a, b] = s.includes(':') ? s.split(':', 2) : [null, s];
        return this.deps.instruments.resolve(b, a);
      }),
    );
    // One shared upstream per instrument per process (quote-fanout.ts): every subscriber gets the same object.
    return liveQuotes(this.deps.pubsub, insts, (i) => this.deps.instruments.quoteOf(i), 256);
  }
}

/** Cursors per request: more than a user could have portfolios is a mistake. */
export const MAX_CURSORS = 500;

/**
 * Where to resume, per portfolio. `afterSequence` is one portfolio's cursor, so it needs `portfolioId`:
 * applied to several portfolios it would skip events of all but one (their sequences are independent).
 */
export function replayCursors(opts: {
  portfolioId?: string | null;
  afterSequence?: number | null;
  after?: readonly { portfolioId: string; sequence: number }[] | null;
}): Map<string, number> {
  const cursors = new Map<string, number>();
  if (opts.afterSequence != null) {
    if (opts.after) throw new BadInputError('Give either afterSequence or after, not both', 'afterSequence', 'CONFLICTING_CURSORS');
    if (!opts.portfolioId) {
      throw new BadInputError('afterSequence needs portfolioId; for several portfolios pass after: [{ portfolioId, sequence }]', 'afterSequence', 'PORTFOLIO_REQUIRED');
    }
    if (opts.afterSequence < 0) throw new BadInputError('afterSequence must be >= 0', 'afterSequence', 'NEGATIVE');
    cursors.set(opts.portfolioId, opts.afterSequence);
    return cursors;
  }
  if (opts.after && opts.after.length > MAX_CURSORS) throw new BadInputError(`after lists at most ${MAX_CURSORS} portfolios`, 'after', 'TOO_MANY');
  for (const c of opts.after ?? []) {
    if (c.sequence < 0) throw new BadInputError('sequence must be >= 0', 'after.sequence', 'NEGATIVE');
    if (cursors.has(c.portfolioId)) throw new BadInputError('A portfolio is listed twice in after', 'after.portfolioId', 'DUPLICATE');
    if (opts.portfolioId && c.portfolioId !== opts.portfolioId) {
      throw new BadInputError('after names a portfolio other than portfolioId', 'after.portfolioId', 'OTHER_PORTFOLIO');
    }
    cursors.set(c.portfolioId, c.sequence);
  }
  return cursors;
}

/** How long an out-of-order event waits for the ones before it to arrive live, before the outbox is asked. */
export const GAP_WAIT_MS = 50;

/** How a stream keeps to the access policy after it opened (EventService). */
export interface StreamAccess {
  /** The portfolios the subscriber asked for by id: if one is no longer readable the stream ends with NOT_FOUND. */
  named: ReadonlySet<string>;
  /** Of the stream's portfolios, those the viewer may read now. */
  recheck(): Promise<Set<string>>;
  /** The stream ended: stop watching it. */
  release(): void;
}

/**
 * Orders a live stream by per-portfolio sequence: drops what was already delivered, holds an event that
 * arrives ahead of its predecessors (the api and the worker publish independently) until they arrive,
 * and after GAP_WAIT_MS reads the missing ones from the outbox. Filters by event type. `return()` ends
 * the live subscription at once, even mid-wait.
 */
export class SequencedStream implements AsyncIterableIterator<PortfolioEventMessage> {
  private readonly out: PortfolioEventMessage[] = [];
  /** Events ahead of a gap, per portfolio, by sequence. */
  private readonly ahead = new Map<string, Map<number, PortfolioEventMessage>>();
  private gapSince: number | null = null;
  private pendingLive: Promise<IteratorResult<PortfolioEventMessage>> | null = null;

  constructor(
    private readonly live: SubscriptionIterator<PortfolioEventMessage>,
    private readonly last: Map<string, number>,
    backlog: PortfolioEventMessage[],
    private readonly types: Set<PortfolioEventType>,
    private readonly fetchGap: (portfolioId: string, after: number, before: number) => Promise<PortfolioEventMessage[]>,
    private readonly access?: StreamAccess,
  ) {
    for (const m of backlog) if (types.has(m.type)) this.out.push(m);
  }

  /** Portfolios still readable after a re-check (null: all the stream opened with). */
  private allowed: Set<string> | null = null;
  private stale = false;
  /** Set while `next` waits for an event: wakes it when the stream turns stale, so it re-checks at once. */
  private wake: (() => void) | null = null;
  private ended = false;

  /** Someone's access changed: re-check before delivering anything more. */
  markStale(): void {
    this.stale = true;
    this.wake?.();
  }

  /**
   * The next live event, or 'timeout' (a gap's wait ran out), or 'stale'. One promise per wait, never a
   * race against a long-lived promise (each race would leave a reaction on it for the stream's life).
   */
  private waitLive(timeout?: Promise<'timeout'>): Promise<IteratorResult<PortfolioEventMessage> | 'timeout' | 'stale'> {
    const live = this.pendingLive!;
    if (!this.access) return timeout ? Promise.race([live, timeout]) : live;
    return new Promise<IteratorResult<PortfolioEventMessage> | 'timeout' | 'stale'>((resolve, reject) => {
      this.wake = () => resolve('stale');
      live.then(resolve, reject);
      timeout?.then(resolve);
    });
  }

  /**
   * Ask the policy again. A portfolio the subscriber named and may no longer read ends the stream with
   * NOT_FOUND (as subscribing to it now would); any other such portfolio's events stop (an unfiltered
   * stream goes on with the rest).
   */
  private async recheck(): Promise<void> {
    this.stale = false;
    let visible: Set<string>;
    try {
      visible = await this.access!.recheck();
    } catch (err) {
      await this.return();
      throw err;
    }
    for (const id of this.access!.named) {
      if (!visible.has(id)) {
        await this.return();
        throw new NotFoundError('Portfolio', id);
      }
    }
    this.allowed = visible;
    for (let i = this.out.length - 1; i >= 0; i--) if (!visible.has(this.out[i].portfolioId)) this.out.splice(i, 1);
    for (const id of [...this.ahead.keys()]) if (!visible.has(id)) this.ahead.delete(id);
    if (this.ahead.size === 0) this.gapSince = null;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** Deliver in order whatever is now contiguous for this portfolio. */
  private drain(portfolioId: string): void {
    const held = this.ahead.get(portfolioId);
    if (!held) return;
    let seen = this.last.get(portfolioId) ?? 0;
    for (let m = held.get(seen + 1); m; m = held.get(seen + 1)) {
      held.delete(m.sequence);
      seen = m.sequence;
      if (this.types.has(m.type)) this.out.push(m);
    }
    this.last.set(portfolioId, seen);
    for (const k of held.keys()) if (k <= seen) held.delete(k);
    if (held.size === 0) this.ahead.delete(portfolioId);
    if (this.ahead.size === 0) this.gapSince = null;
  }

  private accept(m: PortfolioEventMessage): void {
    if (this.allowed && !this.allowed.has(m.portfolioId)) return; // no longer the viewer's to see
    if (m.sequence <= (this.last.get(m.portfolioId) ?? 0)) return; // already delivered
    const held = this.ahead.get(m.portfolioId) ?? new Map<number, PortfolioEventMessage>();
    held.set(m.sequence, m);
    this.ahead.set(m.portfolioId, held);
    this.drain(m.portfolioId);
    if (this.ahead.size > 0) this.gapSince ??= Date.now();
  }

  /** The gap did not close by itself: read what is missing from the outbox (it is committed). */
  private async fillGaps(): Promise<void> {
    for (const [portfolioId, held] of [...this.ahead]) {
      const first = Math.min(...held.keys());
      for (const g of await this.fetchGap(portfolioId, this.last.get(portfolioId) ?? 0, first)) held.set(g.sequence, g);
      this.drain(portfolioId);
    }
    this.gapSince = this.ahead.size > 0 ? Date.now() : null;
  }

  async next(): Promise<IteratorResult<PortfolioEventMessage>> {
    for (;;) {
      if (this.ended) return { value: undefined, done: true };
      if (this.stale) await this.recheck();
      while (this.out.length === 0 && !this.stale) {
        this.pendingLive ??= this.live.next();
        let r: IteratorResult<PortfolioEventMessage> | 'timeout' | 'stale';
        if (this.gapSince === null) {
          r = await this.waitLive();
        } else {
          const wait = Math.max(0, this.gapSince + GAP_WAIT_MS - Date.now());
          let timer: NodeJS.Timeout | undefined;
          r = await this.waitLive(new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), wait))));
          clearTimeout(timer);
        }
        this.wake = null;
        if (r === 'stale') continue;
        if (r === 'timeout') {
          await this.fillGaps();
          continue;
        }
        this.pendingLive = null;
        if (r.done) return { value: undefined, done: true };
        this.accept(r.value);
      }
      // Access may have changed while this event waited: never deliver it before the re-check.
      if (this.stale) continue;
      return { value: this.out.shift()!, done: false };
    }
  }

  async return(): Promise<IteratorResult<PortfolioEventMessage>> {
    this.out.length = 0;
    this.ahead.clear();
    if (!this.ended) {
      this.ended = true;
      this.access?.release();
    }
    await this.live.return?.();
    return { value: undefined, done: true };
  }
}
