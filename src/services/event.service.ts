import { and, asc, eq, gt, inArray, lt, or } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { outboxEvents, portfolios } from '../db/schema/index.js';
import { assertReplayWindow } from '../events/outbox-retention.js';
import type { Principal } from '../auth/tokens.js';
import { BadInputError, NotFoundError } from '../errors.js';
import type { PubSub } from '../events/pubsub.js';
import type { PortfolioEventMessage, PortfolioEventType, QuoteMessage } from '../events/topics.js';
import { toAsyncIterator, type SubscriptionIterator } from '../events/async-iterator.js';
import { toMessage } from '../events/outbox.js';
import { liveQuotes } from '../market/quote-fanout.js';
import type { PortfolioService } from './portfolio.service.js';
import type { InstrumentService } from './instrument.service.js';

export const MAX_QUOTE_SYMBOLS = 100;
const REPLAY_LIMIT = 10_000;

/**
 * Live portfolio events for subscriptions: replay from the outbox after `afterSequence`, then live,
 * in sequence order with no gaps and no duplicates (delivery from the relay is at least once, and two
 * processes may publish out of order; a gap is filled from the outbox, a repeat is dropped).
 */
export class EventService {
  constructor(private readonly deps: { db: Db; pubsub: PubSub; portfolios: PortfolioService; instruments: InstrumentService }) {}

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
    if (ids.length) {
      const rows = await this.deps.db.select({ id: portfolios.id, seq: portfolios.eventSequence }).from(portfolios).where(inArray(portfolios.id, ids));
      for (const r of rows) last.set(r.id, cursors.get(r.id) ?? r.seq);
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
    return new SequencedStream(live, last, backlog, new Set(opts.types), (pid, from, to) => this.gap(pid, from, to));
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
  ) {
    for (const m of backlog) if (types.has(m.type)) this.out.push(m);
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
    while (this.out.length === 0) {
      this.pendingLive ??= this.live.next();
      let r: IteratorResult<PortfolioEventMessage> | 'timeout';
      if (this.gapSince === null) {
        r = await this.pendingLive;
      } else {
        const wait = Math.max(0, this.gapSince + GAP_WAIT_MS - Date.now());
        let timer: NodeJS.Timeout | undefined;
        r = await Promise.race([this.pendingLive, new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), wait)))]);
        clearTimeout(timer);
      }
      if (r === 'timeout') {
        await this.fillGaps();
        continue;
      }
      this.pendingLive = null;
      if (r.done) return { value: undefined, done: true };
      this.accept(r.value);
    }
    return { value: this.out.shift()!, done: false };
  }

  async return(): Promise<IteratorResult<PortfolioEventMessage>> {
    this.out.length = 0;
    this.ahead.clear();
    await this.live.return?.();
    return { value: undefined, done: true };
  }
}
