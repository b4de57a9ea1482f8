import { asc, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { pooledChildren, pooledParentOrders, portfolios } from '../../db/schema/index.js';
import { isUniqueViolation } from '../../db/errors.js';
import { unnestRows } from '../../db/batch-sql.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { dec, toDb, type Decimal } from '../../lib/decimal.js';
import { type OutboxRelay, type StoredEvent } from '../../events/outbox.js';
import type { InstrumentService } from '../instrument.service.js';
import { orderSnapshot } from '../orders/order.snapshot.js';
import { moveToSubmitting } from '../orders/batch-reads.js';
import { groupBy, net } from './netting.js';
import { appendEventsMany, idIn } from './batch-fill.js';
import type { PooledRepository, PooledAccountRow } from './pooled.repository.js';
import type { ParentDriver } from './parent-driver.service.js';

/** Parents of one window driven at once. */
const PARALLEL_PARENTS = 4;
/**
 * A parent whose children have waited this long (SUBMITTING or PARTIALLY_FILLED, unchanged) is stalled:
 * its worker died between placement and allocation. The sweep that finds them also runs this often at
 * most: with a large window in progress its query reads every waiting child, and a tick is 250 ms.
 */
const STALL_MS = 5_000;

/**
 * Closing an aggregation window: claim the members' PENDING market orders (PENDING → SUBMITTING, guarded,
 * in ONE transaction with the parent orders and the child links, so each child joins exactly one parent
 * however many workers close windows at once), net them per instrument, then drive each parent.
 *
 * Limit and stop orders of members are not aggregated: they stay PENDING until canceled or expired
 * (kept separate; see README). Only MARKET children net.
 */
export class PooledWindowService {
  /** When this process last looked for stalled parents (performance.now(); -Infinity: never). */
  private lastSweep = -Infinity;
  /** Parents claimed by a close of this process that its lanes have not finished driving. */
  private readonly inClose = new Set<string>();

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      logger: Logger;
      relay: OutboxRelay;
      instruments: InstrumentService;
      repo: PooledRepository;
      driver: ParentDriver;
      /** Early close at this many member orders waiting in a window (0 or absent: on time only). */
      maxWindowOrders?: number;
      /** Parents of one window driven at once (default PARALLEL_PARENTS). */
      parallelParents?: number;
    },
  ) {}

  /** The scheduled close: every account whose window boundary has passed closes the window that ended. */
  async closeDueWindows(): Promise<number> {
    const now = this.deps.clock.now();
    let parents = 0;
    for (const account of await this.deps.repo.listAccounts()) {
      const boundary = new Date(Math.floor(now.getTime() / account.windowMs) * account.windowMs);
      parents += (await this.close(account, boundary, `w:${boundary.toISOString()}`)).length;
    }
    // Parents a dead worker left between placement and allocation are driven again: looked for once per
    // STALL_MS (not every tick), and never one this process is driving or has queued in a close.
    if (performance.now() - this.lastSweep >= STALL_MS) {
      this.lastSweep = performance.now();
      for (const id of await this.deps.repo.stalledParents(new Date(now.getTime() - STALL_MS))) {
        if (!this.inClose.has(id) && !this.deps.driver.isDriving(id)) await this.deps.driver.drive(id);
      }
    }
    return parents;
  }

  /**
   * Early close: a member's order has joined `accountId`'s window (the order loop's submit step found it
   * a member's); when the window now holds `maxWindowOrders` orders it closes at once, without waiting
   * for its boundary. Concurrent joins may each try: the claim is guarded, so each child joins one parent.
   */
  async orderJoined(accountId: string): Promise<string[]> {
    const max = this.deps.maxWindowOrders ?? 0;
    if (max <= 0) return [];
    if ((await this.deps.repo.pendingCount(accountId)) < max) return [];
    const account = await this.deps.repo.account(accountId);
    if (!account) return [];
    const now = this.deps.clock.now();
    return this.close(account, now, `size:${now.toISOString()}`);
  }

  /**
   * Close `account`'s window now: children placed at or before `at` join parents of window `key`.
   * Returns the parent ids (none if there was nothing to claim, or the window was closed already).
   */
  async close(account: PooledAccountRow, at: Date, key: string): Promise<string[]> {
    const pending = await this.deps.repo.pendingChildren(account.id, at);
    if (pending.length === 0) return [];
    const now = this.deps.clock.now();
    const mids = await this.mids([...new Set(pending.map((o) => o.instrumentId))]);
    let claimed: { parentIds: string[]; events: StoredEvent[] };
    try {
      claimed = await this.deps.db.transaction(async (tx) => {
        const pids = [...new Set(pending.map((o) => o.portfolioId))].sort();
        // Portfolios locked in id order (as placement does), so concurrent closes and fills cannot deadlock.
        // Ids travel as ONE uuid[] parameter (idIn: no parameter per id to build and parse).
        await tx.select({ id: portfolios.id }).from(portfolios).where(idIn(portfolios.id, pids)).orderBy(asc(portfolios.id)).for('update');
        const moved = await moveToSubmitting(tx, pending.map((o) => o.id), now);
        if (moved.length === 0) return { parentIds: [], events: [] };
        const byInstrument = groupBy(
          [...moved].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1)),
          (o) => o.instrumentId,
        );
        const parentRows = [...byInstrument].map(([instrumentId, kids]) => {
          const n = net(kids.map((k) => ({ id: k.id, side: k.side, quantity: k.quantity })));
          const side = n.netSide ?? 'BUY';
          // A net buy is capped at the strictest protection price of its buy children (market protection).
          const caps = kids.filter((k) => k.side === 'BUY' && k.protectionPrice).map((k) => dec(k.protectionPrice!));
          const protection = side === 'BUY' && caps.length ? caps.reduce((m, c) => (c.lt(m) ? c : m)) : null;
          return {
            pooledAccountId: account.id,
            windowKey: key,
            instrumentId,
            side,
            quantity: toDb(n.netQuantity),
            crossedQuantity: toDb(n.crossedQuantity),
            crossedPrice: n.netSide === null && mids.has(instrumentId) ? toDb(mids.get(instrumentId)!) : null,
            protectionPrice: protection ? toDb(protection) : null,
            // Nothing to send when the window nets to zero: the parent is done, only the cross remains.
            status: n.netSide === null ? ('FILLED' as const) : ('PENDING' as const),
            createdAt: now,
            updatedAt: now,
          };
        });
        const parents = await tx.insert(pooledParentOrders).values(parentRows).returning();
        const parentOf = new Map(parents.map((p) => [p.instrumentId, p.id]));
        await tx.execute(sql`insert into ${pooledChildren} (order_id, parent_id)
          select v.o, v.p from ${unnestRows(moved, { o: ['uuid', (o) => o.id], p: ['uuid', (o) => parentOf.get(o.instrumentId)!] })}`);
        // Every member's ORDER_UPDATED events in two multi-row statements (sequences per portfolio, gap-free).
        const perPortfolio = new Map([...groupBy(moved, (o) => o.portfolioId)].map(([pid, kids]) => [pid, kids.map((o) => ({ type: 'ORDER_UPDATED' as const, payload: { order: orderSnapshot(o) } }))]));
        return { parentIds: parents.map((p) => p.id), events: await appendEventsMany(tx, perPortfolio, now) };
      });
    } catch (err) {
      // The same window closed concurrently by another worker: its children stay for the next window.
      if (isUniqueViolation(err)) return [];
      throw err;
    }
    // The claim is committed: a broker failure here leaves the parent to its broker events' jobs and
    // to the sweep of stalled parents (closeDueWindows), which adopt it at the broker by client order id.
    // Parents are driven side by side (a few at a time): one's broker round trips overlap another's writes.
    const queue = [...claimed.parentIds];
    for (const id of queue) this.inClose.add(id);
    const lane = async () => {
      for (let id = queue.shift(); id; id = queue.shift()) {
        try {
          await this.deps.driver.drive(id).catch((err: unknown) => this.deps.logger.warn({ err, parentId: id }, 'pooled parent not driven yet; the sweep retries'));
        } finally {
          this.inClose.delete(id);
        }
      }
    };
    // The claim's events and the children's wait until the lanes are done (at most MAX_DEFER_MS each).
    const { publisher } = this.deps.driver;
    await publisher.deferWhile(() => {
      publisher.enqueue(claimed.events);
      return Promise.all(Array.from({ length: Math.min(this.deps.parallelParents ?? PARALLEL_PARENTS, queue.length) }, lane));
    });
    // The children are filled and committed; their events are published now (some were, if the lanes ran long).
    await publisher.idle();
    return claimed.parentIds;
  }

  /** The quote mid at window close (a crossed-only window's price): (bid + ask) / 2, else the last price. */
  private async mids(instrumentIds: string[]): Promise<Map<string, Decimal>> {
    const out = new Map<string, Decimal>();
    for (const inst of await this.deps.repo.instrumentsByIds(instrumentIds)) {
      const q = this.deps.instruments.quoteOf(inst);
      if (!q) continue;
      const m = q.bid && q.ask ? dec(q.bid).add(q.ask).div(2) : dec(q.last);
      out.set(inst.id, m.toDecimalPlaces(8));
    }
    return out;
  }
}
