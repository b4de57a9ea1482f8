import { and, asc, eq, gte, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { candles, watchlistItems, watchlists } from '../../db/schema/index.js';
import { isUniqueViolation } from '../../db/errors.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import { dec, type Decimal } from '../../lib/decimal.js';
import type { PubSub } from '../../events/pubsub.js';
import type { QuoteMessage } from '../../events/topics.js';
import { liveQuotes } from '../../market/quote-fanout.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';

export type WatchlistRow = typeof watchlists.$inferSelect;
export type WatchlistItemRow = typeof watchlistItems.$inferSelect;

export const MAX_WATCHLIST_ITEMS = 200;
export const MAX_WATCHLISTS = 50;

/**
 * The day's change of an instrument: its last price against the day's open (dayOpens), in price and in
 * percent of the open. Null without a quote or an open; the percent is null for an open of zero.
 */
export function dayChange(last: string | null | undefined, open: Decimal | undefined): { dayChange: string | null; dayChangePercent: number | null } {
  if (last == null || !open) return { dayChange: null, dayChangePercent: null };
  const change = dec(last).sub(open);
  return { dayChange: change.toFixed(), dayChangePercent: open.isZero() ? null : change.div(open).mul(100).toNumber() };
}

/**
 * Watchlists: named lists of instruments with notes, read with live quotes and the day's change, and
 * streamed by `watchlistQuotes` straight from the one quote stream (the list is read once, at subscribe).
 * Screeners and strategies read and write them through this service.
 */
export class WatchlistService {
  constructor(private readonly deps: { db: Db; clock: Clock; instruments: InstrumentService; pubsub: PubSub }) {}

  private checkName(raw: string): string {
    const n = (raw ?? '').trim();
    if (n.length < 1 || n.length > 100) throw new BadInputError('name must be 1 to 100 characters', 'name', 'INVALID_NAME');
    return n;
  }

  private async resolve(symbol: string, exchange: string | null | undefined, field: string): Promise<InstrumentRow> {
    try {
      return await this.deps.instruments.resolve(symbol, exchange);
    } catch (err) {
      if (err instanceof BadInputError) throw new BadInputError(err.message, field, String(err.details?.reason ?? 'UNKNOWN_SYMBOL'));
      throw err;
    }
  }

  async list(viewer: Principal): Promise<WatchlistRow[]> {
    return this.deps.db.select().from(watchlists).where(eq(watchlists.ownerId, viewer.userId)).orderBy(asc(watchlists.createdAt), asc(watchlists.id));
  }

  /** The viewer's own watchlist, or any for an admin (admins oversee: read only); anyone else's is NOT_FOUND. */
  async get(viewer: Principal, id: string): Promise<WatchlistRow> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('Watchlist', id);
    const [w] = await this.deps.db.select().from(watchlists).where(eq(watchlists.id, id)).limit(1);
    if (!w || (w.ownerId !== viewer.userId && viewer.role !== 'ADMIN')) throw new NotFoundError('Watchlist', id);
    return w;
  }

  /** A watchlist the viewer may change: their own only. An admin, who may read it, is FORBIDDEN. */
  async getForChange(viewer: Principal, id: string): Promise<WatchlistRow> {
    const w = await this.get(viewer, id);
    if (w.ownerId !== viewer.userId) throw new ForbiddenError("Administrators may read other users' watchlists, not change them");
    return w;
  }

  private nameTaken<T>(p: Promise<T>): Promise<T> {
    return p.catch((err) => {
      if (isUniqueViolation(err)) throw new BadInputError('You already have a watchlist with that name', 'name', 'NAME_TAKEN');
      throw err;
    });
  }

  async create(viewer: Principal, rawName: string, symbols?: string[] | null): Promise<WatchlistRow> {
    const name = this.checkName(rawName);
    const list = symbols ?? [];
    if (list.length > MAX_WATCHLIST_ITEMS) throw new BadInputError(`A watchlist holds at most ${MAX_WATCHLIST_ITEMS} instruments`, 'symbols', 'WATCHLIST_FULL');
    const insts: InstrumentRow[] = [];
    for (const [i, s] of list.entries()) {
      const [a, b] = s.includes(':') ? s.split(':', 2) : [null, s];
      const inst = await this.resolve(b, a, `symbols[${i}]`);
      if (!insts.some((x) => x.id === inst.id)) insts.push(inst);
    }
    const [{ n }] = await this.deps.db.select({ n: sql<number>`count(*)::int` }).from(watchlists).where(eq(watchlists.ownerId, viewer.userId));
    if (n >= MAX_WATCHLISTS) throw new BadInputError(`You can have at most ${MAX_WATCHLISTS} watchlists`, 'name', 'TOO_MANY_WATCHLISTS');
    const now = this.deps.clock.now();
    return this.nameTaken(
      this.deps.db.transaction(async (tx) => {
        const [w] = await tx.insert(watchlists).values({ ownerId: viewer.userId, name, createdAt: now, updatedAt: now }).returning();
        // One millisecond apart, so the list keeps the order it was given in.
        if (insts.length) await tx.insert(watchlistItems).values(insts.map((i, k) => ({ watchlistId: w.id, instrumentId: i.id, addedAt: new Date(now.getTime() + k) })));
        return w;
      }),
    );
  }

  async rename(viewer: Principal, id: string, rawName: string): Promise<WatchlistRow> {
    const w = await this.getForChange(viewer, id);
    const name = this.checkName(rawName);
    const [row] = await this.nameTaken(this.deps.db.update(watchlists).set({ name, updatedAt: this.deps.clock.now() }).where(eq(watchlists.id, w.id)).returning());
    return row;
  }

  async delete(viewer: Principal, id: string): Promise<boolean> {
    const w = await this.getForChange(viewer, id);
    await this.deps.db.delete(watchlists).where(eq(watchlists.id, w.id));
    return true;
  }

  /** Add (or re-note) an instrument; a full list (200) is BAD_USER_INPUT / WATCHLIST_FULL. */
  async add(viewer: Principal, id: string, symbol: string, exchange?: string | null, note?: string | null): Promise<WatchlistRow> {
    const w = await this.getForChange(viewer, id);
    const inst = await this.resolve(symbol, exchange, 'symbol');
    if (note != null && note.length > 500) throw new BadInputError('note is at most 500 characters', 'note', 'TOO_LONG');
    const now = this.deps.clock.now();
    return this.deps.db.transaction(async (tx) => {
      // Lock the list so two concurrent adds cannot both pass the size check.
      const [locked] = await tx.select().from(watchlists).where(eq(watchlists.id, w.id)).for('update');
      const [{ n }] = await tx.select({ n: sql<number>`count(*)::int` }).from(watchlistItems).where(eq(watchlistItems.watchlistId, w.id));
      const [exists] = await tx
        .select({ id: watchlistItems.instrumentId })
        .from(watchlistItems)
        .where(and(eq(watchlistItems.watchlistId, w.id), eq(watchlistItems.instrumentId, inst.id)));
      if (exists) {
        if (note !== undefined) await tx.update(watchlistItems).set({ note: note ?? null }).where(and(eq(watchlistItems.watchlistId, w.id), eq(watchlistItems.instrumentId, inst.id)));
      } else {
        if (n >= MAX_WATCHLIST_ITEMS) throw new BadInputError(`A watchlist holds at most ${MAX_WATCHLIST_ITEMS} instruments`, 'symbol', 'WATCHLIST_FULL');
        await tx.insert(watchlistItems).values({ watchlistId: w.id, instrumentId: inst.id, note: note ?? null, addedAt: now });
      }
      const [row] = await tx.update(watchlists).set({ updatedAt: now }).where(eq(watchlists.id, locked.id)).returning();
      return row;
    });
  }

  async remove(viewer: Principal, id: string, symbol: string, exchange?: string | null): Promise<WatchlistRow> {
    const w = await this.getForChange(viewer, id);
    const inst = await this.resolve(symbol, exchange, 'symbol');
    const gone = await this.deps.db
      .delete(watchlistItems)
      .where(and(eq(watchlistItems.watchlistId, w.id), eq(watchlistItems.instrumentId, inst.id)))
      .returning();
    if (gone.length === 0) throw new BadInputError(`${inst.symbol} is not in this watchlist`, 'symbol', 'NOT_IN_WATCHLIST');
    const [row] = await this.deps.db.update(watchlists).set({ updatedAt: this.deps.clock.now() }).where(eq(watchlists.id, w.id)).returning();
    return row;
  }

  async items(watchlistId: string): Promise<WatchlistItemRow[]> {
    return this.deps.db.select().from(watchlistItems).where(eq(watchlistItems.watchlistId, watchlistId)).orderBy(asc(watchlistItems.addedAt), asc(watchlistItems.instrumentId));
  }

  /** The instruments of a list (strategies and screeners use this as a universe). */
  async instrumentsOf(viewer: Principal, watchlistId: string): Promise<InstrumentRow[]> {
    await this.get(viewer, watchlistId);
    return this.deps.instruments.byIds((await this.items(watchlistId)).map((i) => i.instrumentId));
  }

  /**
   * The price each instrument opened the current UTC day at (its first 1-minute bar today), for the day's
   * change; an instrument with no bar today falls back to its reference price.
   */
  async dayOpens(instrumentIds: string[]): Promise<Map<string, Decimal>> {
    if (instrumentIds.length === 0) return new Map();
    const now = this.deps.clock.now();
    const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const rows = await this.deps.db
      .selectDistinctOn([candles.instrumentId], { instrumentId: candles.instrumentId, open: candles.open })
      .from(candles)
      .where(and(inArray(candles.instrumentId, instrumentIds), eq(candles.interval, '1m'), gte(candles.startsAt, midnight)))
      .orderBy(candles.instrumentId, asc(candles.startsAt));
    const out = new Map(rows.map((r) => [r.instrumentId, dec(r.open)]));
    for (const i of await this.deps.instruments.byIds(instrumentIds.filter((id) => !out.has(id)))) out.set(i.id, dec(i.referencePrice));
    return out;
  }

  /** Every quote of the list's instruments: the latest at once, then each tick from the quote stream. */
  async quotes(viewer: Principal, watchlistId: string): Promise<AsyncIterableIterator<QuoteMessage>> {
    const insts = await this.instrumentsOf(viewer, watchlistId);
    return liveQuotes(this.deps.pubsub, insts, (i) => this.deps.instruments.quoteOf(i), 1024);
  }
}
