import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { brokerInstruments, instruments } from '../../db/schema/index.js';
import type { BrokerInstruments } from '../../brokers/connections/sessions.js';
import { MASTER_READERS, MasterFormatError, type MasterLineError, type MasterRow } from '../../brokers/connections/instrument-master.js';
import { BadInputError, DomainError, ErrorCode } from '../../errors.js';

/** What one master import did: rows stored, of which matched to our instruments, lines refused. */
export interface MasterImportResult {
  imported: number;
  matched: number;
  skipped: number;
  errors: MasterLineError[];
}

/**
 * Broker instrument masters: imported from a file the user downloaded from the broker, matched to our
 * instruments by exchange + symbol, else by ISIN through another broker's matched row. Adapters read
 * tokens through {@link BrokerInstruments}.
 */
export class InstrumentMasterRepository implements BrokerInstruments {
  private readonly cache = new Map<string, string | null>();

  constructor(private readonly db: Db) {}

  async tokenOf(broker: string, exchange: string, symbol: string): Promise<string | null> {
    const k = `${broker}|${exchange}|${symbol}`;
    if (this.cache.has(k)) return this.cache.get(k)!;
    // The broker's own symbol first; else a row matched to our instrument (by ISIN) on the same exchange.
    const [direct] = await this.db
      .select({ token: brokerInstruments.token })
      .from(brokerInstruments)
      .where(and(eq(brokerInstruments.broker, broker), eq(brokerInstruments.exchange, exchange), eq(brokerInstruments.symbol, symbol)))
      .limit(1);
    const [viaIsin] = direct
      ? [direct]
      : await this.db
          .select({ token: brokerInstruments.token })
          .from(brokerInstruments)
          .innerJoin(instruments, eq(instruments.id, brokerInstruments.instrumentId))
          .where(and(eq(brokerInstruments.broker, broker), eq(brokerInstruments.exchange, exchange), eq(instruments.exchange, exchange), eq(instruments.symbol, symbol)))
          .limit(1);
    const token = viaIsin?.token ?? null;
    if (token) this.cache.set(k, token);
    return token;
  }

  /** Import one master file's text; returns rows read and how many matched one of our instruments. */
  async import(broker: string, text: string): Promise<{ rows: number; matched: number }> {
    const r = await this.importMaster(broker, text);
    return { rows: r.imported, matched: r.matched };
  }

  /**
   * Import one master file's text in the broker's documented format. A line the reader refuses is
   * reported (and the others imported); a file not in the format at all is BAD_USER_INPUT with the line.
   * A symbol listed twice keeps its last line (the earlier one counts as skipped).
   */
  async importMaster(broker: string, text: string): Promise<MasterImportResult> {
    const read = MASTER_READERS[broker];
    if (!read) throw new BadInputError(`No instrument master format for ${broker} (have: ${Object.keys(MASTER_READERS).join(', ')})`, 'broker', 'UNKNOWN_BROKER');
    let parsed: ReturnType<typeof read>;
    try {
      parsed = read(text);
    } catch (err) {
      if (err instanceof MasterFormatError) throw new DomainError(ErrorCode.BAD_USER_INPUT, `${err.message} (line ${err.line})`, { field: 'content', reason: 'BAD_FORMAT', line: err.line });
      throw err;
    }
    const unique = new Map<string, MasterRow>();
    for (const r of parsed.rows) unique.set(`${r.exchange}|${r.symbol}`, r);
    const rows = [...unique.values()];
    const stored = await this.store(broker, rows);
    return { imported: rows.length, matched: stored.matched, skipped: parsed.errors.length + parsed.rows.length - rows.length, errors: parsed.errors };
  }

  private async store(broker: string, rows: MasterRow[]): Promise<{ matched: number }> {
    const ours = await this.db.select({ id: instruments.id, symbol: instruments.symbol, exchange: instruments.exchange }).from(instruments);
    const byKey = new Map(ours.map((i) => [`${i.exchange}|${i.symbol}`, i.id]));
    const isins = [...new Set(rows.flatMap((r) => (r.isin ? [r.isin] : [])))];
    // ISIN matches only within one exchange: an NSE instrument is not traded through a BSE token.
    const byIsin = new Map<string, string>();
    for (let i = 0; i < isins.length; i += 1000) {
      const known = await this.db
        .select({ isin: brokerInstruments.isin, exchange: brokerInstruments.exchange, id: brokerInstruments.instrumentId })
        .from(brokerInstruments)
        .where(and(inArray(brokerInstruments.isin, isins.slice(i, i + 1000)), isNotNull(brokerInstruments.instrumentId)));
      for (const k of known) if (k.isin && k.id) byIsin.set(`${k.exchange}|${k.isin}`, k.id);
    }
    let matched = 0;
    const values = rows.map((r) => {
      const instrumentId = byKey.get(`${r.exchange}|${r.symbol}`) ?? (r.isin ? byIsin.get(`${r.exchange}|${r.isin}`) : undefined) ?? null;
      if (instrumentId) matched++;
      return { broker, ...r, instrumentId, updatedAt: new Date() };
    });
    for (let i = 0; i < values.length; i += 500) {
      await this.db
        .insert(brokerInstruments)
        .values(values.slice(i, i + 500))
        .onConflictDoUpdate({
          target: [brokerInstruments.broker, brokerInstruments.exchange, brokerInstruments.symbol],
          set: {
            token: sql`excluded.token`,
            isin: sql`excluded.isin`,
            lotSize: sql`excluded.lot_size`,
            tickSize: sql`excluded.tick_size`,
            instrumentId: sql`excluded.instrument_id`,
            updatedAt: sql`excluded.updated_at`,
          },
        });
    }
    this.cache.clear();
    return { matched };
  }
}
