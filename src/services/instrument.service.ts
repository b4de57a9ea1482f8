import { eq, ilike, inArray, or } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { instruments } from '../db/schema/index.js';
import { BadInputError, NotFoundError } from '../errors.js';
import type { Quote, QuoteSource } from '../market/quote.js';

export type InstrumentRow = typeof instruments.$inferSelect;

/**
 * Reference data. Instruments change rarely, so they are cached in memory after the first read; a miss
 * goes to the database (an instrument added by another process is found).
 */
export class InstrumentService {
  private readonly byIdCache = new Map<string, InstrumentRow>();
  private readonly bySymbolCache = new Map<string, InstrumentRow[]>();

  constructor(private readonly deps: { db: Db; quotes: QuoteSource }) {}

  private remember(rows: InstrumentRow[]): void {
    for (const r of rows) {
      this.byIdCache.set(r.id, r);
      const list = (this.bySymbolCache.get(r.symbol) ?? []).filter((x) => x.id !== r.id);
      list.push(r);
      this.bySymbolCache.set(r.symbol, list);
    }
  }

  async all(): Promise<InstrumentRow[]> {
    const rows = await this.deps.db.select().from(instruments).orderBy(instruments.exchange, instruments.symbol);
    this.remember(rows);
    return rows;
  }

  /**
   * Instruments by id (cached). Inside a transaction pass it as `db`: a miss then reads on the
   * transaction's own connection instead of waiting for another one from the pool.
   */
  async byIds(ids: string[], db: Db | Tx = this.deps.db): Promise<InstrumentRow[]> {
    const missing = ids.filter((id) => !this.byIdCache.has(id));
    if (missing.length) this.remember(await db.select().from(instruments).where(inArray(instruments.id, missing)));
    return ids.map((id) => this.byIdCache.get(id)).filter((r): r is InstrumentRow => Boolean(r));
  }

  /** An instrument already in the cache, without waiting: undefined when it must be read ({@link byIds}). */
  cached(id: string): InstrumentRow | undefined {
    return this.byIdCache.get(id);
  }

  async search(text: string | null | undefined, first: number): Promise<InstrumentRow[]> {
    const q = text?.trim();
    const where = q ? or(ilike(instruments.symbol, `${escapeLike(q)}%`), ilike(instruments.name, `%${escapeLike(q)}%`)) : undefined;
    const rows = await this.deps.db
      .select()
      .from(instruments)
      .where(where)
      .orderBy(instruments.symbol, instruments.exchange)
      .limit(first);
    this.remember(rows);
    return rows;
  }

  /**
   * Resolve a symbol (and optional exchange) to one instrument. Unknown → BAD_USER_INPUT (field `symbol`,
   * reason UNKNOWN_SYMBOL); listed on several exchanges and none given → BAD_USER_INPUT asking for one.
   */
  async resolve(symbolInput: string, exchange?: string | null): Promise<InstrumentRow> {
    const symbol = symbolInput.trim().toUpperCase();
    let list = this.bySymbolCache.get(symbol);
    if (!list) {
      const rows = await this.deps.db.select().from(instruments).where(eq(instruments.symbol, symbol));
      this.remember(rows);
      list = rows;
    }
    const matches = exchange ? list.filter((r) => r.exchange === exchange.trim().toUpperCase()) : list;
    if (matches.length === 0) {
      throw new BadInputError(`Unknown symbol ${symbol}${exchange ? ` on ${exchange}` : ''}`, 'symbol', 'UNKNOWN_SYMBOL');
    }
    if (matches.length > 1) {
      throw new BadInputError(`${symbol} is listed on several exchanges; pass exchange`, 'exchange', 'AMBIGUOUS_SYMBOL');
    }
    return matches[0];
  }

  quoteOf(row: Pick<InstrumentRow, 'symbol' | 'exchange'>): Quote | null {
    return this.deps.quotes.get(row.symbol, row.exchange);
  }

  async quote(symbol: string, exchange?: string | null): Promise<Quote> {
    let row: InstrumentRow;
    try {
      row = await this.resolve(symbol, exchange);
    } catch (err) {
      if (err instanceof BadInputError && err.details?.reason === 'UNKNOWN_SYMBOL') throw new NotFoundError('Instrument', symbol);
      throw err;
    }
    const q = this.quoteOf(row);
    if (!q) throw new NotFoundError('Quote', `${row.exchange}:${row.symbol}`);
    return q;
  }
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
