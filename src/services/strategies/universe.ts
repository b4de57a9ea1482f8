import { and, desc, eq, inArray, isNull, or } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { instruments, screenerRuns, screeners, smallcaseConstituents, smallcases, watchlistItems, watchlists } from '../../db/schema/index.js';
import { BadInputError } from '../../errors.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';

/** Where a strategy or screener finds its instruments: exactly one source. */
export interface UniverseInput {
  watchlistId?: string | null;
  smallcaseId?: string | null;
  screenerId?: string | null;
  symbols?: string[] | null;
}

/** Most instruments one universe may hold. */
export const MAX_UNIVERSE = 5000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Check the shape of a universe (one source) without reading it. */
export function checkUniverseShape(u: UniverseInput | null | undefined): UniverseInput {
  const given = Object.entries(u ?? {}).filter(([, v]) => v !== null && v !== undefined);
  if (given.length !== 1) throw new BadInputError('universe needs exactly one of watchlistId, smallcaseId, screenerId, symbols', 'universe', given.length ? 'AMBIGUOUS_UNIVERSE' : 'EMPTY_UNIVERSE');
  const [key, value] = given[0]!;
  if (key === 'symbols' && (!Array.isArray(value) || value.length === 0)) throw new BadInputError('universe.symbols is empty', 'universe.symbols', 'EMPTY_UNIVERSE');
  if (key === 'symbols' && (value as string[]).length > MAX_UNIVERSE) throw new BadInputError(`universe.symbols has more than ${MAX_UNIVERSE} symbols`, 'universe.symbols', 'UNIVERSE_TOO_LARGE');
  if (key !== 'symbols' && !UUID.test(String(value))) throw new BadInputError(`universe.${key} is not an id`, `universe.${key}`, 'NOT_FOUND');
  return { [key]: value } as UniverseInput;
}

/**
 * The instruments of a universe, for its owner. Another user's (or a missing) watchlist, smallcase or
 * screener is BAD_USER_INPUT with reason NOT_FOUND on its field; an empty one is EMPTY_UNIVERSE.
 */
export async function resolveUniverse(db: Db, instrumentService: InstrumentService, ownerId: string, raw: UniverseInput): Promise<InstrumentRow[]> {
  const u = checkUniverseShape(raw);
  let rows: InstrumentRow[];
  let field: string;
  if (u.symbols) {
    field = 'universe.symbols';
    rows = [];
    for (const s of u.symbols) {
      const [ex, sym] = s.includes(':') ? s.split(':', 2) : [null, s];
      try {
        rows.push(await instrumentService.resolve(sym!, ex));
      } catch (e) {
        if (e instanceof BadInputError) throw new BadInputError(`universe.symbols: ${e.message}`, field, String(e.details?.reason ?? 'UNKNOWN_SYMBOL'));
        throw e;
      }
    }
  } else if (u.watchlistId) {
    field = 'universe.watchlistId';
    const [w] = await db.select({ id: watchlists.id }).from(watchlists).where(and(eq(watchlists.id, u.watchlistId), eq(watchlists.ownerId, ownerId)));
    if (!w) throw new BadInputError('No such watchlist of yours', field, 'NOT_FOUND');
    const items = await db.select({ id: watchlistItems.instrumentId }).from(watchlistItems).where(eq(watchlistItems.watchlistId, w.id));
    rows = await instrumentService.byIds(items.map((i) => i.id));
  } else if (u.smallcaseId) {
    field = 'universe.smallcaseId';
    const [sc] = await db
      .select({ id: smallcases.id })
      .from(smallcases)
      .where(and(eq(smallcases.id, u.smallcaseId), or(eq(smallcases.ownerId, ownerId), eq(smallcases.isPublic, true), isNull(smallcases.ownerId))));
    if (!sc) throw new BadInputError('No such smallcase you can see', field, 'NOT_FOUND');
    const items = await db.select({ id: smallcaseConstituents.instrumentId }).from(smallcaseConstituents).where(eq(smallcaseConstituents.smallcaseId, sc.id));
    rows = await instrumentService.byIds(items.map((i) => i.id));
  } else {
    field = 'universe.screenerId';
    const [s] = await db.select().from(screeners).where(and(eq(screeners.id, u.screenerId!), eq(screeners.ownerId, ownerId)));
    if (!s) throw new BadInputError('No such screener of yours', field, 'NOT_FOUND');
    if (s.outputWatchlistId) {
      const items = await db.select({ id: watchlistItems.instrumentId }).from(watchlistItems).where(eq(watchlistItems.watchlistId, s.outputWatchlistId));
      rows = await instrumentService.byIds(items.map((i) => i.id));
    } else {
      const [run] = await db.select().from(screenerRuns).where(eq(screenerRuns.screenerId, s.id)).orderBy(desc(screenerRuns.createdAt)).limit(1);
      const ids = ((run?.matches ?? []) as { instrumentId: string }[]).map((m) => m.instrumentId);
      rows = ids.length ? await db.select().from(instruments).where(inArray(instruments.id, ids)) : [];
    }
  }
  const unique = [...new Map(rows.map((r) => [r.id, r])).values()];
  if (unique.length === 0) throw new BadInputError('The universe has no instruments', field, 'EMPTY_UNIVERSE');
  return unique;
}
