import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Principal } from '../../auth/tokens.js';
import type { Db } from '../../db/client.js';
import { instruments, screenerRuns, screeners } from '../../db/schema/index.js';
import { BadInputError, NotFoundError } from '../../errors.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';
import type { SmallcaseService } from '../baskets/smallcase.service.js';
import type { WatchlistService } from '../watchlists/watchlist.service.js';

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

/** The other capabilities a universe reads through (watchlists and smallcases are theirs). */
export interface UniverseSources {
  db: Db;
  instruments: InstrumentService;
  watchlists: Pick<WatchlistService, 'instrumentsOf'>;
  smallcases: Pick<SmallcaseService, 'get' | 'constituents'>;
}

/**
 * The instruments of a universe, for its owner. Another user's (or a missing) watchlist, smallcase or
 * screener is BAD_USER_INPUT with reason NOT_FOUND on its field; an empty one is EMPTY_UNIVERSE.
 */
export async function resolveUniverse(src: UniverseSources, owner: Principal, raw: UniverseInput): Promise<InstrumentRow[]> {
  const { db } = src;
  const u = checkUniverseShape(raw);
  let rows: InstrumentRow[];
  let field: string;
  const notFound = (e: unknown, what: string): never => {
    if (e instanceof NotFoundError) throw new BadInputError(`No such ${what} of yours`, field, 'NOT_FOUND');
    throw e;
  };
  if (u.symbols) {
    field = 'universe.symbols';
    rows = [];
    for (const s of u.symbols) {
      const [ex, sym] = s.includes(':') ? s.split(':', 2) : [null, s];
      try {
        rows.push(await src.instruments.resolve(sym!, ex));
      } catch (e) {
        if (e instanceof BadInputError) throw new BadInputError(`universe.symbols: ${e.message}`, field, String(e.details?.reason ?? 'UNKNOWN_SYMBOL'));
        throw e;
      }
    }
  } else if (u.watchlistId) {
    field = 'universe.watchlistId';
    rows = await src.watchlists.instrumentsOf(owner, u.watchlistId).catch((e) => notFound(e, 'watchlist'));
  } else if (u.smallcaseId) {
    field = 'universe.smallcaseId';
    const sc = await src.smallcases.get(owner, u.smallcaseId).catch((e) => notFound(e, 'smallcase'));
    const items = await src.smallcases.constituents(sc.id, sc.version);
    rows = await src.instruments.byIds(items.map((i) => i.instrumentId));
  } else {
    field = 'universe.screenerId';
    const [s] = await db.select().from(screeners).where(and(eq(screeners.id, u.screenerId!), eq(screeners.ownerId, owner.userId)));
    if (!s) throw new BadInputError('No such screener of yours', field, 'NOT_FOUND');
    if (s.outputWatchlistId) {
      rows = await src.watchlists.instrumentsOf(owner, s.outputWatchlistId).catch(() => []);
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
