import { and, desc, eq, inArray, isNotNull, lt, or } from 'drizzle-orm';
import type { Principal } from '../../auth/tokens.js';
import type { Db } from '../../db/client.js';
import { strategies, strategyRuns, strategySignals } from '../../db/schema/index.js';
import { BadInputError, DomainError, InvalidStateError, NotFoundError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { dec } from '../../lib/decimal.js';
import type { Logger } from '../../lib/logger.js';
import { type IntervalCode } from '../../market/intervals.js';
import { buildRuleSet, STRATEGY_KINDS, type RulesSpec, type SignalAction, type StrategyKind } from '../../strategies/definition.js';
import { nextFire, resolveSchedule, tickKey } from '../../strategies/schedule.js';
import type { SchedulerPort } from '../../strategies/scheduler/scheduler.js';
import { normalizeSizing, type Sizing } from '../../strategies/sizing.js';
import type { InstrumentService } from '../instrument.service.js';
import type { PortfolioService } from '../portfolio.service.js';
import { intervalCode } from './market-data.service.js';
import type { RunRow, StrategyRow, StrategyRunner } from './strategy-runner.js';
import { checkUniverseShape, resolveUniverse, type UniverseInput, type UniverseSources } from './universe.js';

export type SignalRow = typeof strategySignals.$inferSelect;

export interface StrategyInput {
  name: string;
  kind: string;
  parameters?: Record<string, unknown> | null;
  rules?: RulesSpec | null;
  interval: string;
  universe: UniverseInput;
  portfolioId?: string | null;
  sizing?: Sizing | null;
  mode: string;
  schedule?: string | null;
  timezone?: string | null;
}

/** A strategy input checked and resolved into the columns it is stored as. */
export interface ValidStrategy {
  name: string;
  kind: StrategyKind;
  params: Record<string, unknown>;
  rules: RulesSpec | null;
  interval: IntervalCode;
  universe: UniverseInput;
  portfolioId: string | null;
  sizing: Sizing;
  mode: 'SIGNAL_ONLY' | 'AUTO' | 'APPROVAL';
  schedule: string | null;
  timezone: string | null;
}


/** Strategies: definitions, their schedules, manual runs, run history, signals and approvals. */
export class StrategyService {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      logger: Logger;
      instruments: InstrumentService;
      portfolios: PortfolioService;
      runner: StrategyRunner;
      scheduler: SchedulerPort;
      universe: UniverseSources;
    },
  ) {}

  /** Check a definition (shared with backtests' inline definitions). Throws BAD_USER_INPUT with field and reason. */
  async validate(viewer: Principal, input: StrategyInput, opts: { forBacktest?: boolean } = {}): Promise<ValidStrategy> {
    const name = input.name?.trim() ?? '';
    if (name.length < 1 || name.length > 100) throw new BadInputError('name must be 1 to 100 characters', 'name', 'INVALID_NAME');
    if (!STRATEGY_KINDS.includes(input.kind as StrategyKind)) throw new BadInputError(`Unknown kind ${input.kind}`, 'kind', 'UNKNOWN_KIND');
    const interval = intervalCode(input.interval);
    const params = input.parameters ?? {};
    if (typeof params !== 'object' || Array.isArray(params)) throw new BadInputError('parameters must be an object', 'parameters', 'INVALID_PARAMETERS');
    const kind = input.kind as StrategyKind;
    if (kind === 'RULES' && !input.rules) throw new BadInputError('RULES strategies need rules', 'rules', 'REQUIRED');
    buildRuleSet(kind, params, input.rules);
    const mode = input.mode as ValidStrategy['mode'];
    if (!['SIGNAL_ONLY', 'AUTO', 'APPROVAL'].includes(mode)) throw new BadInputError(`Unknown mode ${input.mode}`, 'mode', 'UNKNOWN_MODE');
    const universe = checkUniverseShape(input.universe);
    try {
      await resolveUniverse(this.deps.universe, viewer, universe);
    } catch (e) {
      // A screener that has not run yet is an empty universe today and a full one after its first run.
      if (!(universe.screenerId && e instanceof BadInputError && e.details?.reason === 'EMPTY_UNIVERSE')) throw e;
    }
    let portfolioId: string | null = null;
    if (input.portfolioId) {
      try {
        portfolioId = (await this.deps.portfolios.get(viewer, input.portfolioId)).id;
      } catch (e) {
        if (e instanceof NotFoundError) throw new BadInputError('No such portfolio of yours', 'portfolioId', 'NOT_FOUND');
        throw e;
      }
    } else if (mode !== 'SIGNAL_ONLY' && !opts.forBacktest) {
      throw new BadInputError(`${mode} strategies trade: give portfolioId`, 'portfolioId', 'REQUIRED');
    }
    const sizing = normalizeSizing(input.sizing);
    let schedule: string | null = null;
    let timezone: string | null = null;
    if (input.schedule) {
      const spec = resolveSchedule(input.schedule, input.timezone, interval);
      schedule = input.schedule.trim();
      timezone = spec.timezone;
    }
    return { name, kind, params, rules: input.rules ?? null, interval, universe, portfolioId, sizing, mode, schedule, timezone };
  }

  private nextRun(v: Pick<StrategyRow, 'schedule' | 'timezone' | 'interval' | 'status'>): Date | null {
    if (!v.schedule || v.status !== 'ACTIVE') return null;
    return nextFire(resolveSchedule(v.schedule, v.timezone, v.interval as IntervalCode), this.deps.clock.now());
  }

  private async syncSchedule(row: StrategyRow): Promise<void> {
    const target = { kind: 'strategy' as const, id: row.id };
    if (row.schedule && row.status === 'ACTIVE') await this.deps.scheduler.upsert(target, resolveSchedule(row.schedule, row.timezone, row.interval as IntervalCode));
    else await this.deps.scheduler.remove(target);
  }

  async create(viewer: Principal, input: StrategyInput): Promise<StrategyRow> {
    const v = await this.validate(viewer, input);
    const [row] = await this.deps.db
      .insert(strategies)
      .values({ ownerId: viewer.userId, ...v, nextRunAt: this.nextRun({ ...v, status: 'ACTIVE' }), status: 'ACTIVE', enabled: true })
      .returning();
    await this.syncSchedule(row!);
    return row!;
  }

  async get(viewer: Principal, id: string): Promise<StrategyRow> {
    const [row] = /^[0-9a-f-]{36}$/i.test(id) ? await this.deps.db.select().from(strategies).where(and(eq(strategies.id, id), eq(strategies.ownerId, viewer.userId))) : [];
    if (!row) throw new NotFoundError('Strategy', id);
    return row;
  }

  list(viewer: Principal): Promise<StrategyRow[]> {
    return this.deps.db.select().from(strategies).where(eq(strategies.ownerId, viewer.userId)).orderBy(desc(strategies.createdAt));
  }

  async update(viewer: Principal, id: string, input: StrategyInput): Promise<StrategyRow> {
    const current = await this.get(viewer, id);
    const v = await this.validate(viewer, input);
    const [row] = await this.deps.db
      .update(strategies)
      .set({ ...v, nextRunAt: this.nextRun({ ...v, status: current.status }), updatedAt: this.deps.clock.now() })
      .where(eq(strategies.id, id))
      .returning();
    await this.syncSchedule(row!);
    return row!;
  }

  async setStatus(viewer: Principal, id: string, status: 'ACTIVE' | 'PAUSED'): Promise<StrategyRow> {
    const current = await this.get(viewer, id);
    const [row] = await this.deps.db
      .update(strategies)
      .set({ status, enabled: status === 'ACTIVE', nextRunAt: this.nextRun({ ...current, status }), updatedAt: this.deps.clock.now() })
      .where(eq(strategies.id, id))
      .returning();
    await this.syncSchedule(row!);
    return row!;
  }

  async delete(viewer: Principal, id: string): Promise<boolean> {
    await this.get(viewer, id);
    await this.deps.scheduler.remove({ kind: 'strategy', id });
    await this.deps.db.delete(strategies).where(eq(strategies.id, id));
    return true;
  }

  async runNow(viewer: Principal, id: string): Promise<RunRow> {
    const s = await this.get(viewer, id);
    return (await this.deps.runner.run(s, 'MANUAL'))!;
  }

  /**
   * A scheduled tick (from the scheduler port): runs once per tick key however many workers receive it.
   * A paused or deleted strategy's tick does nothing. Never throws: a failing strategy fails its run only.
   */
  async onTick(strategyId: string, at: Date): Promise<RunRow | null> {
    const [s] = await this.deps.db.select().from(strategies).where(eq(strategies.id, strategyId));
    if (!s || s.status !== 'ACTIVE' || !s.schedule) return null;
    try {
      const run = await this.deps.runner.run(s, 'SCHEDULE', tickKey(at));
      await this.deps.db.update(strategies).set({ nextRunAt: this.nextRun(s) }).where(eq(strategies.id, s.id));
      return run;
    } catch (err) {
      this.deps.logger.error({ err, strategyId }, 'scheduled strategy run failed');
      return null;
    }
  }

  /**
   * At worker start (embedded): register every active schedule, and run once each strategy whose stored
   * next run time passed while nothing was running (one catch-up run; older missed ticks are skipped).
   */
  async restoreSchedules(): Promise<number> {
    const rows = await this.deps.db.select().from(strategies).where(and(eq(strategies.status, 'ACTIVE'), isNotNull(strategies.schedule)));
    const now = this.deps.clock.now();
    for (const s of rows) {
      await this.syncSchedule(s).catch((err: unknown) => this.deps.logger.error({ err, strategyId: s.id }, 'could not schedule a strategy'));
      if (s.nextRunAt && s.nextRunAt < now) void this.onTick(s.id, s.nextRunAt);
    }
    return rows.length;
  }

  async runs(viewer: Principal, strategyId: string, first: number, after?: { createdAt: Date; id: string }) {
    await this.get(viewer, strategyId);
    const rows = await this.deps.db
      .select()
      .from(strategyRuns)
      .where(
        and(
          eq(strategyRuns.strategyId, strategyId),
          after ? or(lt(strategyRuns.startedAt, after.createdAt), and(eq(strategyRuns.startedAt, after.createdAt), lt(strategyRuns.id, after.id))) : undefined,
        ),
      )
      .orderBy(desc(strategyRuns.startedAt), desc(strategyRuns.id))
      .limit(first + 1);
    return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  signalsOfRuns(runIds: readonly string[]): Promise<SignalRow[]> {
    if (runIds.length === 0) return Promise.resolve([]);
    return this.deps.db.select().from(strategySignals).where(inArray(strategySignals.runId, [...runIds])).orderBy(strategySignals.barTime, strategySignals.id);
  }

  async signal(viewer: Principal, id: string): Promise<SignalRow> {
    const [row] = /^[0-9a-f-]{36}$/i.test(id)
      ? await this.deps.db
          .select({ s: strategySignals })
          .from(strategySignals)
          .innerJoin(strategies, eq(strategies.id, strategySignals.strategyId))
          .where(and(eq(strategySignals.id, id), eq(strategies.ownerId, viewer.userId)))
      : [];
    if (!row) throw new NotFoundError('Signal', id);
    return row.s;
  }

  /** Approve a waiting signal of an APPROVAL strategy: its order is placed (idempotently). */
  async decide(viewer: Principal, signalId: string, approve: boolean): Promise<SignalRow> {
    const sig = await this.signal(viewer, signalId);
    if (sig.status !== 'PENDING_APPROVAL') throw new InvalidStateError(`The signal is ${sig.status}, not waiting for approval`);
    const s = await this.get(viewer, sig.strategyId);
    const [claimed] = await this.deps.db
      .update(strategySignals)
      .set({ status: approve ? 'APPROVED' : 'REJECTED' })
      .where(and(eq(strategySignals.id, sig.id), eq(strategySignals.status, 'PENDING_APPROVAL')))
      .returning();
    if (!claimed) throw new InvalidStateError('The signal was decided already');
    if (approve && s.portfolioId && dec(sig.quantity ?? '0').gt(0)) {
      const [inst] = await this.deps.instruments.byIds([sig.instrumentId]);
      try {
        await this.deps.runner.placeFor(s, sig.id, inst!, sig.action as SignalAction, dec(sig.quantity!), sig.barTime);
      } catch (err) {
        await this.deps.db.update(strategySignals).set({ status: 'FAILED', reason: err instanceof DomainError ? err.message : 'internal error' }).where(eq(strategySignals.id, sig.id));
        throw err;
      }
    }
    return this.signal(viewer, signalId);
  }
}

