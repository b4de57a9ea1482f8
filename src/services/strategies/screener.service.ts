import { and, asc, desc, eq } from 'drizzle-orm';
import type { Principal } from '../../auth/tokens.js';
import { assertAdmin } from '../people/access.policy.js';
import type { Db } from '../../db/client.js';
import { earnings, screenerRuns, screeners, watchlistItems, watchlists } from '../../db/schema/index.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { IntervalCode } from '../../market/intervals.js';
import { compileField } from '../../strategies/definition.js';
import { resolveSchedule, tickKey } from '../../strategies/schedule.js';
import type { SchedulerPort } from '../../strategies/scheduler/scheduler.js';
import type { InstrumentService } from '../instrument.service.js';
import type { WatchlistService } from '../watchlists/watchlist.service.js';
import { MAX_WATCHLIST_ITEMS } from '../watchlists/watchlist.service.js';
import { intervalCode, type MarketDataService } from './market-data.service.js';
import { earningsRecord, gain, ruleHolds, zScore, type Match } from './screener.logic.js';
import { checkUniverseShape, resolveUniverse, type UniverseInput, type UniverseSources } from './universe.js';
import { parseEarningsCsv } from './earnings-csv.js';

export type ScreenerRow = typeof screeners.$inferSelect;
export type ScreenerRunRow = typeof screenerRuns.$inferSelect;
export const SCREENER_KINDS = ['TOP_GAINERS', 'STD_FILTER', 'RULES', 'EARNINGS'] as const;

export interface ScreenerInput {
  name: string;
  kind: string;
  parameters?: Record<string, unknown> | null;
  rule?: string | null;
  universe: UniverseInput;
  interval?: string | null;
  schedule?: string | null;
  timezone?: string | null;
  outputWatchlistId?: string | null;
}

const int = (p: Record<string, unknown>, k: string, d: number, max = 5000) => {
  const v = p[k] ?? d;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new BadInputError(`parameters.${k} must be a whole number of at least 1`, `parameters.${k}`, 'INVALID_PERIOD');
  if (v > max) throw new BadInputError(`parameters.${k} must be at most ${max}`, `parameters.${k}`, 'PERIOD_TOO_LARGE');
  return v;
};
const num = (p: Record<string, unknown>, k: string, d: number) => {
  const v = p[k] ?? d;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadInputError(`parameters.${k} must be a number`, `parameters.${k}`, 'INVALID_NUMBER');
  return v;
};

/**
 * Screeners: TOP_GAINERS (return over `period` bars, best `top`), STD_FILTER (z-score of the `period`
 * return against one-bar volatility over `lookback`, those with z ≥ `minZ`, strongest `top`), RULES (a
 * condition true on the last bar), EARNINGS (imported calendar: at least `minBeats` beats in the last
 * `quarters` reports). A run replaces its output watchlist's contents.
 */
export class ScreenerService {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      logger: Logger;
      instruments: InstrumentService;
      marketData: MarketDataService;
      watchlists: WatchlistService;
      universe: UniverseSources;
      scheduler: SchedulerPort;
    },
  ) {}

  private checkParams(kind: string, p: Record<string, unknown>, rule: string | null | undefined): void {
    if (kind === 'TOP_GAINERS') (int(p, 'period', 1), int(p, 'top', 10, MAX_WATCHLIST_ITEMS));
    if (kind === 'STD_FILTER') (int(p, 'period', 5), int(p, 'lookback', 60), num(p, 'minZ', 1), int(p, 'top', 10, MAX_WATCHLIST_ITEMS));
    if (kind === 'EARNINGS') (int(p, 'quarters', 4, 40), int(p, 'minBeats', 3, 40));
    if (kind === 'RULES') {
      if (!rule) throw new BadInputError('RULES screeners need rule', 'rule', 'REQUIRED');
      compileField(rule, 'rule');
    }
  }

  async create(viewer: Principal, input: ScreenerInput): Promise<ScreenerRow> {
    const name = input.name?.trim() ?? '';
    if (name.length < 1 || name.length > 100) throw new BadInputError('name must be 1 to 100 characters', 'name', 'INVALID_NAME');
    if (!(SCREENER_KINDS as readonly string[]).includes(input.kind)) throw new BadInputError(`Unknown kind ${input.kind}`, 'kind', 'UNKNOWN_KIND');
    const params = input.parameters ?? {};
    this.checkParams(input.kind, params, input.rule);
    const interval = intervalCode(input.interval ?? 'D1');
    const universe = checkUniverseShape(input.universe);
    await resolveUniverse(this.deps.universe, viewer, universe);
    const timezone = input.schedule ? resolveSchedule(input.schedule, input.timezone, interval).timezone : null;
    let outputWatchlistId: string;
    if (input.outputWatchlistId) {
      try {
        // Runs replace its contents: it must be the viewer's own (an admin only reads others').
        outputWatchlistId = (await this.deps.watchlists.getForChange(viewer, input.outputWatchlistId)).id;
      } catch (e) {
        if (e instanceof NotFoundError || e instanceof ForbiddenError) throw new BadInputError('No such watchlist of yours', 'outputWatchlistId', 'NOT_FOUND');
        throw e;
      }
    } else {
      outputWatchlistId = (await this.deps.watchlists.create(viewer, `Screener: ${name}`.slice(0, 100))).id;
    }
    const [row] = await this.deps.db
      .insert(screeners)
      .values({ ownerId: viewer.userId, name, kind: input.kind, params, rule: input.rule ?? null, universe, interval, schedule: input.schedule?.trim() ?? null, timezone, outputWatchlistId })
      .returning();
    if (row!.schedule) await this.deps.scheduler.upsert({ kind: 'screener', id: row!.id }, resolveSchedule(row!.schedule, row!.timezone, interval));
    return row!;
  }

  list(viewer: Principal): Promise<ScreenerRow[]> {
    return this.deps.db.select().from(screeners).where(eq(screeners.ownerId, viewer.userId)).orderBy(desc(screeners.createdAt));
  }

  async get(viewer: Principal, id: string): Promise<ScreenerRow> {
    const [row] = /^[0-9a-f-]{36}$/i.test(id) ? await this.deps.db.select().from(screeners).where(and(eq(screeners.id, id), eq(screeners.ownerId, viewer.userId))) : [];
    if (!row) throw new NotFoundError('Screener', id);
    return row;
  }

  async lastRun(screenerId: string): Promise<ScreenerRunRow | null> {
    const [r] = await this.deps.db.select().from(screenerRuns).where(eq(screenerRuns.screenerId, screenerId)).orderBy(desc(screenerRuns.createdAt)).limit(1);
    return r ?? null;
  }

  async run(viewer: Principal, id: string, tick?: Date): Promise<ScreenerRunRow | null> {
    const s = await this.get(viewer, id);
    const key = tick ? tickKey(tick) : null;
    if (key) {
      const [claimed] = await this.deps.db.insert(screenerRuns).values({ screenerId: s.id, tickKey: key }).onConflictDoNothing().returning();
      if (!claimed) return null;
      return this.execute(viewer, s, claimed.id);
    }
    const [r] = await this.deps.db.insert(screenerRuns).values({ screenerId: s.id }).returning();
    return this.execute(viewer, s, r!.id);
  }

  private async execute(viewer: Principal, s: ScreenerRow, runId: string): Promise<ScreenerRunRow> {
    const p = s.params as Record<string, unknown>;
    const insts = await resolveUniverse(this.deps.universe, viewer, s.universe as UniverseInput);
    const interval = s.interval as IntervalCode;
    const matches: Match[] = [];
    if (s.kind === 'EARNINGS') {
      const quarters = int(p, 'quarters', 4, 40);
      const minBeats = int(p, 'minBeats', 3, 40);
      for (const i of insts) {
        const rows = await this.deps.db.select().from(earnings).where(eq(earnings.instrumentId, i.id)).orderBy(asc(earnings.date));
        const rec = earningsRecord(rows.map((r) => ({ epsEstimate: r.epsEstimate === null ? null : Number(r.epsEstimate), epsActual: r.epsActual === null ? null : Number(r.epsActual) })), quarters);
        const next = rows.find((r) => r.epsActual === null && r.date >= this.deps.clock.now().toISOString().slice(0, 10));
        if (rec.beats >= minBeats) matches.push({ instrumentId: i.id, score: rec.surprise, values: { ...rec, nextReport: next?.date ?? null } });
      }
    } else {
      const rule = s.kind === 'RULES' ? compileField(s.rule!, 'rule') : null;
      const period = int(p, 'period', s.kind === 'STD_FILTER' ? 5 : 1);
      const lookback = int(p, 'lookback', 60);
      const need = rule ? rule.warmup + 1 : Math.max(period, lookback) + 2;
      for (const i of insts) {
        let bars = await this.deps.marketData.bars(i.id, interval, { last: need });
        // A day-anchored rule (vwap) also sees the opening of the day of its first bar.
        if (rule?.dayAnchored && bars.length) bars = [...(await this.deps.marketData.dayOpening(i.id, interval, new Date(bars[0]!.time))), ...bars];
        if (s.kind === 'TOP_GAINERS') {
          const g = gain(bars, period);
          if (g !== null) matches.push({ instrumentId: i.id, score: g, values: { return: g } });
        } else if (s.kind === 'STD_FILTER') {
          const z = zScore(bars, period, lookback);
          if (z && z.z >= num(p, 'minZ', 1)) matches.push({ instrumentId: i.id, score: z.z, values: { return: z.ret, std: z.std, z: z.z } });
        } else if (rule && ruleHolds(rule, bars)) matches.push({ instrumentId: i.id, score: null, values: { close: bars.at(-1)?.close ?? null } });
      }
    }
    matches.sort((a, b) => (b.score ?? -Infinity) - (a.score ?? -Infinity) || a.instrumentId.localeCompare(b.instrumentId));
    const top = s.kind === 'TOP_GAINERS' || s.kind === 'STD_FILTER' ? int(p, 'top', 10, MAX_WATCHLIST_ITEMS) : MAX_WATCHLIST_ITEMS;
    const kept = matches.slice(0, top);
    const now = this.deps.clock.now();
    const [row] = await this.deps.db.transaction(async (tx) => {
      // The output watchlist becomes exactly the matches (watchlists have no replace operation of their own).
      if (s.outputWatchlistId) {
        await tx.delete(watchlistItems).where(eq(watchlistItems.watchlistId, s.outputWatchlistId));
        if (kept.length) await tx.insert(watchlistItems).values(kept.map((m) => ({ watchlistId: s.outputWatchlistId!, instrumentId: m.instrumentId, addedAt: now, note: `screener ${s.name}` })));
        await tx.update(watchlists).set({ updatedAt: now }).where(eq(watchlists.id, s.outputWatchlistId));
      }
      return tx.update(screenerRuns).set({ matches: kept, finishedAt: now }).where(eq(screenerRuns.id, runId)).returning();
    });
    return row!;
  }

  /** A scheduled tick: once per tick key; a failure is logged, never thrown to the scheduler. */
  async onTick(id: string, at: Date): Promise<void> {
    const [s] = await this.deps.db.select().from(screeners).where(eq(screeners.id, id));
    if (!s) return;
    await this.run({ userId: s.ownerId, role: 'CLIENT' }, id, at).catch((err: unknown) => this.deps.logger.error({ err, screenerId: id }, 'scheduled screener failed'));
  }

  /** importEarnings: `symbol,exchange,date,epsEstimate,epsActual`; a report already stored is replaced. */
  /** The earnings calendar is shared by every user's screeners: administrators only load it. */
  async importEarnings(viewer: Principal, csv: string): Promise<{ imported: number; skipped: number; errors: { line: number; message: string }[] }> {
    assertAdmin(viewer);
    const { rows, errors } = parseEarningsCsv(csv);
    let imported = 0;
    for (const r of rows) {
      try {
        const inst = await this.deps.instruments.resolve(r.symbol, r.exchange || null);
        await this.deps.db
          .insert(earnings)
          .values({ instrumentId: inst.id, date: r.date, epsEstimate: r.epsEstimate, epsActual: r.epsActual })
          .onConflictDoUpdate({ target: [earnings.instrumentId, earnings.date], set: { epsEstimate: r.epsEstimate, epsActual: r.epsActual } });
        imported++;
      } catch (e) {
        if (!(e instanceof BadInputError)) throw e;
        errors.push({ line: r.line, message: e.message });
      }
    }
    errors.sort((a, b) => a.line - b.line);
    return { imported, skipped: errors.length, errors };
  }
}

