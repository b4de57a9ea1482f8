import { and, asc, desc, eq, ilike, or, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { smallcaseConstituents, smallcases, smallcaseVersions } from '../../db/schema/index.js';
import { BadInputError, DomainError, ForbiddenError, InvalidStateError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import { Decimal, dec } from '../../lib/decimal.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';
import { minimumInvestment, type CostModel, type WeightedConstituent } from './planner.js';

export type SmallcaseRow = typeof smallcases.$inferSelect;
export type ConstituentRow = typeof smallcaseConstituents.$inferSelect;
export type Visibility = SmallcaseRow['visibility'];

export interface ConstituentInput {
  symbol: string;
  exchange?: string | null;
  weight: string;
}

export const MAX_CONSTITUENTS = 50;

/** BAD_USER_INPUT for an amount under the minimum, with the minimum in `extensions.minimum`. */
export class BelowMinimumInvestmentError extends DomainError {
  constructor(minimum: string) {
    super('BAD_USER_INPUT', `The amount is below this basket's minimum investment of ${minimum}`, { field: 'amount', reason: 'BELOW_MINIMUM_INVESTMENT', minimum });
  }
}

/** INVALID_STATE for new money into an archived smallcase (investInSmallcase and investMore alike). */
export function assertNotArchived(sc: SmallcaseRow): void {
  if (sc.archived) throw new InvalidStateError('The smallcase is archived');
}

/** Validated constituents: resolved instruments and exact weights summing to 1, in one currency. */
export interface ValidConstituent {
  instrument: InstrumentRow;
  weight: Decimal;
}

/**
 * Smallcases: versioned weighted baskets. PRIVATE ones are their owner's; PUBLIC ones are read by everyone
 * and changed only by their owner or an admin. A change of constituents is a new version (with a
 * rationale); the index starts at 100 and is chained across versions.
 */
export class SmallcaseService {
  constructor(private readonly deps: { db: Db; clock: Clock; instruments: InstrumentService; cost: (currency: string) => CostModel }) {}

  /** Check constituents: 1–50, known and tradable, no duplicates, weights > 0 summing to exactly 1, one currency. */
  async validateConstituents(input: ConstituentInput[], field = 'constituents'): Promise<ValidConstituent[]> {
    if (input.length < 1 || input.length > MAX_CONSTITUENTS) {
      throw new BadInputError(`A smallcase has 1 to ${MAX_CONSTITUENTS} constituents`, field, 'CONSTITUENT_COUNT');
    }
    const out: ValidConstituent[] = [];
    const seen = new Set<string>();
    let sum = dec(0);
    for (const [i, c] of input.entries()) {
      const f = `${field}[${i}]`;
      let instrument: InstrumentRow;
      try {
        instrument = await this.deps.instruments.resolve(c.symbol, c.exchange);
      } catch (err) {
        if (err instanceof BadInputError) throw new BadInputError(err.message, `${f}.symbol`, String(err.details?.reason ?? 'UNKNOWN_SYMBOL'));
        throw err;
      }
      if (seen.has(instrument.id)) throw new BadInputError(`${instrument.symbol} is listed twice`, `${f}.symbol`, 'DUPLICATE_SYMBOL');
      seen.add(instrument.id);
      if (!instrument.tradable) throw new BadInputError(`${instrument.symbol} is not tradable`, `${f}.symbol`, 'NOT_TRADABLE');
      if (out.length && instrument.currency !== out[0].instrument.currency) {
        throw new BadInputError(`${instrument.symbol} trades in ${instrument.currency}, the others in ${out[0].instrument.currency}`, `${f}.symbol`, 'CURRENCY_MISMATCH');
      }
      const w = dec(c.weight);
      if (!w.isFinite() || w.lte(0) || w.gt(1)) throw new BadInputError('weight must be greater than 0 and at most 1', `${f}.weight`, 'INVALID_WEIGHT');
      if (w.decimalPlaces() > 8) throw new BadInputError('weight has more than 8 decimal places', `${f}.weight`, 'INVALID_WEIGHT');
      sum = sum.add(w);
      out.push({ instrument, weight: w });
    }
    if (!sum.eq(1)) throw new BadInputError(`weights sum to ${sum.toFixed()}, not 1`, field, 'WEIGHTS_NOT_ONE');
    return out;
  }

  private checkName(name: string | null | undefined): string {
    const n = (name ?? '').trim();
    if (n.length < 1 || n.length > 100) throw new BadInputError('name must be 1 to 100 characters', 'name', 'INVALID_NAME');
    return n;
  }

  private priceOf(i: InstrumentRow): Decimal {
    const q = this.deps.instruments.quoteOf(i);
    return dec(q?.last ?? i.referencePrice);
  }

  async create(viewer: Principal, input: { name: string; description?: string | null; visibility?: Visibility | null; constituents: ConstituentInput[] }): Promise<SmallcaseRow> {
    const name = this.checkName(input.name);
    const valid = await this.validateConstituents(input.constituents);
    const now = this.deps.clock.now();
    return this.deps.db.transaction(async (tx) => {
      const [sc] = await tx
        .insert(smallcases)
        .values({ ownerId: viewer.userId, name, description: input.description ?? null, visibility: input.visibility ?? 'PRIVATE', currency: valid[0].instrument.currency, version: 1, createdAt: now, updatedAt: now })
        .returning();
      await tx.insert(smallcaseVersions).values({ smallcaseId: sc.id, version: 1, rationale: null, indexBase: '100', createdAt: now });
      await tx.insert(smallcaseConstituents).values(valid.map((c) => ({ smallcaseId: sc.id, version: 1, instrumentId: c.instrument.id, weight: c.weight.toFixed(), basePrice: this.priceOf(c.instrument).toFixed() })));
      return sc;
    });
  }

  /** Readable: the owner's, any PUBLIC one, or any for an admin; otherwise NOT_FOUND. */
  async get(viewer: Principal, id: string): Promise<SmallcaseRow> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('Smallcase', id);
    const [sc] = await this.deps.db.select().from(smallcases).where(eq(smallcases.id, id)).limit(1);
    if (!sc || !(sc.visibility === 'PUBLIC' || sc.ownerId === viewer.userId || viewer.role === 'ADMIN')) throw new NotFoundError('Smallcase', id);
    return sc;
  }

  /** Internal read with no access check (an investor keeps seeing the smallcase they hold). */
  async byId(id: string): Promise<SmallcaseRow> {
    const [sc] = await this.deps.db.select().from(smallcases).where(eq(smallcases.id, id)).limit(1);
    if (!sc) throw new NotFoundError('Smallcase', id);
    return sc;
  }

  /** Changeable: by its owner or an admin. Someone else's public one is FORBIDDEN (they can see it). */
  private async getForChange(viewer: Principal, id: string): Promise<SmallcaseRow> {
    const sc = await this.get(viewer, id);
    if (sc.ownerId !== viewer.userId && viewer.role !== 'ADMIN') throw new ForbiddenError('Only the owner of a smallcase can change it');
    return sc;
  }

  async list(viewer: Principal, opts: { search?: string | null; includePublic?: boolean | null }): Promise<SmallcaseRow[]> {
    const mine = eq(smallcases.ownerId, viewer.userId);
    const visible: SQL = opts.includePublic === false ? mine : or(mine, and(eq(smallcases.visibility, 'PUBLIC'), eq(smallcases.archived, false)))!;
    const q = opts.search?.trim();
    const where = q ? and(visible, ilike(smallcases.name, `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)) : visible;
    return this.deps.db.select().from(smallcases).where(where).orderBy(asc(smallcases.name), asc(smallcases.id)).limit(200);
  }

  async update(
    viewer: Principal,
    id: string,
    input: { name?: string | null; description?: string | null; visibility?: Visibility | null; constituents?: ConstituentInput[] | null; rationale?: string | null },
  ): Promise<SmallcaseRow> {
    const sc = await this.getForChange(viewer, id);
    if (sc.archived) throw new InvalidStateError('The smallcase is archived');
    const name = input.name != null ? this.checkName(input.name) : sc.name;
    const given = input.constituents ? await this.validateConstituents(input.constituents) : null;
    if (given && given[0].instrument.currency !== sc.currency) {
      throw new BadInputError(`This smallcase trades in ${sc.currency}`, 'constituents[0].symbol', 'CURRENCY_MISMATCH');
    }
    // New constituents make a new version; the same set again (any order, any spelling) is no change.
    const valid = given && !sameConstituents(given, await this.constituents(sc.id, sc.version)) ? given : null;
    if (input.rationale != null && input.rationale.length > 2000) throw new BadInputError('rationale is at most 2000 characters', 'rationale', 'TOO_LONG');
    const now = this.deps.clock.now();
    const indexNow = valid ? await this.indexValue(sc) : null;
    return this.deps.db.transaction(async (tx) => {
      const version = valid ? sc.version + 1 : sc.version;
      const [row] = await tx
        .update(smallcases)
        .set({ name, description: input.description !== undefined ? input.description : sc.description, visibility: input.visibility ?? sc.visibility, version, updatedAt: now })
        .where(and(eq(smallcases.id, sc.id), eq(smallcases.version, sc.version)))
        .returning();
      if (!row) throw new InvalidStateError('The smallcase changed meanwhile; try again');
      if (valid) {
        await tx.insert(smallcaseVersions).values({ smallcaseId: sc.id, version, rationale: input.rationale ?? null, indexBase: indexNow!.toFixed(8), createdAt: now });
        await tx.insert(smallcaseConstituents).values(valid.map((c) => ({ smallcaseId: sc.id, version, instrumentId: c.instrument.id, weight: c.weight.toFixed(), basePrice: this.priceOf(c.instrument).toFixed() })));
      }
      return row;
    });
  }

  async archive(viewer: Principal, id: string): Promise<SmallcaseRow> {
    const sc = await this.getForChange(viewer, id);
    const [row] = await this.deps.db.update(smallcases).set({ archived: true, updatedAt: this.deps.clock.now() }).where(eq(smallcases.id, sc.id)).returning();
    return row;
  }

  async constituents(smallcaseId: string, version: number): Promise<ConstituentRow[]> {
    return this.deps.db
      .select()
      .from(smallcaseConstituents)
      .where(and(eq(smallcaseConstituents.smallcaseId, smallcaseId), eq(smallcaseConstituents.version, version)))
      .orderBy(desc(smallcaseConstituents.weight), asc(smallcaseConstituents.instrumentId));
  }

  async rationale(smallcaseId: string, version: number): Promise<string | null> {
    const [v] = await this.deps.db
      .select({ r: smallcaseVersions.rationale })
      .from(smallcaseVersions)
      .where(and(eq(smallcaseVersions.smallcaseId, smallcaseId), eq(smallcaseVersions.version, version)));
    return v?.r ?? null;
  }

  /** Constituents of a version with live prices (ask, else last) and lots, ready for the planner. */
  async weighted(smallcaseId: string, version: number): Promise<{ rows: ConstituentRow[]; insts: InstrumentRow[]; weighted: WeightedConstituent[] }> {
    const rows = await this.constituents(smallcaseId, version);
    const insts = await this.deps.instruments.byIds(rows.map((r) => r.instrumentId));
    const byId = new Map(insts.map((i) => [i.id, i]));
    const weighted = rows.map((r) => {
      const inst = byId.get(r.instrumentId)!;
      const q = this.deps.instruments.quoteOf(inst);
      if (!q) throw new BadInputError(`No market price for ${inst.symbol} yet`, 'smallcaseId', 'NO_MARKET_PRICE');
      return { instrumentId: r.instrumentId, weight: dec(r.weight), price: dec(q.ask ?? q.last), lotSize: dec(inst.lotSize) };
    });
    return { rows, insts: rows.map((r) => byId.get(r.instrumentId)!), weighted };
  }

  /** The smallest amount that buys at least one lot of every constituent at its weight, from live prices. */
  async minimumInvestment(sc: SmallcaseRow): Promise<Decimal> {
    const { weighted } = await this.weighted(sc.id, sc.version);
    return minimumInvestment(weighted, this.deps.cost(sc.currency));
  }

  /** 100 at creation; each version continues from the value it started at: base × Σ weight × price / base price. */
  async indexValue(sc: SmallcaseRow): Promise<Decimal> {
    const [v] = await this.deps.db
      .select()
      .from(smallcaseVersions)
      .where(and(eq(smallcaseVersions.smallcaseId, sc.id), eq(smallcaseVersions.version, sc.version)));
    const rows = await this.constituents(sc.id, sc.version);
    const insts = new Map((await this.deps.instruments.byIds(rows.map((r) => r.instrumentId))).map((i) => [i.id, i]));
    let ratio = dec(0);
    for (const r of rows) {
      const base = dec(r.basePrice);
      ratio = ratio.add(base.isZero() ? dec(r.weight) : dec(r.weight).mul(this.priceOf(insts.get(r.instrumentId)!)).div(base));
    }
    return dec(v?.indexBase ?? 100).mul(ratio).toDecimalPlaces(4, Decimal.ROUND_HALF_EVEN);
  }
}

/** The same instruments with the same weights (as decimals), in any order. */
function sameConstituents(given: ValidConstituent[], current: ConstituentRow[]): boolean {
  if (given.length !== current.length) return false;
  const weights = new Map(current.map((c) => [c.instrumentId, dec(c.weight)]));
  return given.every((c) => weights.get(c.instrument.id)?.eq(c.weight) === true);
}
