import { and, eq, inArray } from 'drizzle-orm';
import type { Principal } from '../../auth/tokens.js';
import type { Db } from '../../db/client.js';
import { backtests } from '../../db/schema/index.js';
import { toAsyncIterator } from '../../events/async-iterator.js';
import type { PubSub } from '../../events/pubsub.js';
import { BadInputError, InvalidStateError, NotFoundError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { dec } from '../../lib/decimal.js';
import type { Logger } from '../../lib/logger.js';
import type { IntervalCode } from '../../market/intervals.js';
import { buildRuleSet, type RulesSpec, type StrategyKind } from '../../strategies/definition.js';
import { runEngine, type BacktestSeries } from '../../strategies/backtest/engine.js';
import { summarize, type StoredResult } from '../../strategies/backtest/result.js';
import type { Sizing } from '../../strategies/sizing.js';
import type { MarketDataService } from './market-data.service.js';
import type { StrategyInput, StrategyService, ValidStrategy } from './strategy.service.js';
import { resolveUniverse, type UniverseSources } from './universe.js';

export type BacktestRow = typeof backtests.$inferSelect;

export interface BacktestInput {
  strategyId?: string | null;
  definition?: StrategyInput | null;
  from: Date;
  to: Date;
  initialCash: string;
  feeRate?: string | null;
  slippageBps?: number | null;
}

/** What a queued backtest replays (stored as the row's input, so the job needs nothing else). */
interface StoredInput {
  definition: Pick<ValidStrategy, 'kind' | 'params' | 'rules' | 'interval' | 'universe' | 'sizing'>;
  from: string;
  to: string;
  initialCash: string;
  feeRate: string;
  slippageBps: number;
}

/** The job queue a backtest is handed to (one job per backtest, job id = backtest id). */
export interface BacktestQueue {
  enqueue(backtestId: string): Promise<void>;
}

const PUBLISH_EVERY_MS = 250;

/**
 * Backtests: validated and queued by `start`, replayed by `execute` in a job through the same rule
 * evaluator and sizing as live runs, publishing progress on 'backtest-progress' at least every 250 ms
 * while running, cancellable between chunks of bars.
 */
export class BacktestService {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      logger: Logger;
      pubsub: PubSub;
      marketData: MarketDataService;
      strategies: StrategyService;
      universe: UniverseSources;
      limits: { backtestMaxDays: number; backtestMaxBars: number };
      queue: () => BacktestQueue;
    },
  ) {}

  async start(viewer: Principal, input: BacktestInput): Promise<BacktestRow> {
    let def: StoredInput['definition'];
    if (input.strategyId && input.definition) throw new BadInputError('Give strategyId or definition, not both', 'strategyId', 'AMBIGUOUS');
    if (input.strategyId) {
      const s = await this.deps.strategies.get(viewer, input.strategyId);
      def = { kind: s.kind as StrategyKind, params: s.params as Record<string, unknown>, rules: s.rules as RulesSpec | null, interval: s.interval as IntervalCode, universe: s.universe as StoredInput['definition']['universe'], sizing: s.sizing as Sizing };
    } else if (input.definition) {
      def = await this.deps.strategies.validate(viewer, input.definition, { forBacktest: true });
    } else throw new BadInputError('Give strategyId or definition', 'definition', 'REQUIRED');
    const from = input.from;
    const to = input.to;
    // Both ends are inclusive: from == to replays the one bar that starts then.
    if (!(from <= to)) throw new BadInputError('from must not be after to', 'from', 'INVALID_RANGE');
    const days = (to.getTime() - from.getTime()) / 86_400_000;
    if (days > this.deps.limits.backtestMaxDays) throw new BadInputError(`The range is longer than ${this.deps.limits.backtestMaxDays} days`, 'to', 'RANGE_TOO_LONG');
    const cash = dec(input.initialCash);
    if (!cash.isFinite() || cash.lte(0)) throw new BadInputError('initialCash must be above 0', 'initialCash', 'INVALID_AMOUNT');
    const feeRate = dec(input.feeRate ?? '0');
    if (feeRate.lt(0) || feeRate.gte('0.1')) throw new BadInputError('feeRate must be in [0, 0.1)', 'feeRate', 'OUT_OF_RANGE');
    const slippageBps = input.slippageBps ?? 0;
    if (!(slippageBps >= 0 && slippageBps <= 1000)) throw new BadInputError('slippageBps must be in [0, 1000]', 'slippageBps', 'OUT_OF_RANGE');
    const insts = await resolveUniverse(this.deps.universe, viewer, def.universe);
    let bars = 0;
    for (const i of insts) bars += await this.deps.marketData.count(i.id, def.interval, from, to);
    if (bars === 0) throw new BadInputError('No bars of the universe in that range', 'from', 'NO_DATA');
    if (bars > this.deps.limits.backtestMaxBars) throw new BadInputError(`The range holds ${bars} bars, more than ${this.deps.limits.backtestMaxBars}`, 'to', 'TOO_MANY_BARS');
    const stored: StoredInput = { definition: def, from: from.toISOString(), to: to.toISOString(), initialCash: cash.toFixed(), feeRate: feeRate.toFixed(), slippageBps };
    const [row] = await this.deps.db.insert(backtests).values({ ownerId: viewer.userId, status: 'QUEUED', input: stored, createdAt: this.deps.clock.now() }).returning();
    await this.deps.queue().enqueue(row!.id);
    return row!;
  }

  async get(viewer: Principal, id: string): Promise<BacktestRow> {
    const [row] = /^[0-9a-f-]{36}$/i.test(id) ? await this.deps.db.select().from(backtests).where(and(eq(backtests.id, id), eq(backtests.ownerId, viewer.userId))) : [];
    if (!row) throw new NotFoundError('Backtest', id);
    return row;
  }

  async cancel(viewer: Principal, id: string): Promise<BacktestRow> {
    const b = await this.get(viewer, id);
    if (!['QUEUED', 'RUNNING'].includes(b.status)) throw new InvalidStateError(`The backtest is ${b.status}`, { status: b.status });
    // A queued one ends now; a running one stops at its next chunk of bars.
    const [row] = await this.deps.db
      .update(backtests)
      .set(b.status === 'QUEUED' ? { cancelRequested: true, status: 'CANCELED', finishedAt: this.deps.clock.now() } : { cancelRequested: true })
      .where(and(eq(backtests.id, id), inArray(backtests.status, ['QUEUED', 'RUNNING'])))
      .returning();
    await this.publish(id);
    return row ?? (await this.get(viewer, id));
  }

  private publish(id: string): Promise<void> {
    return this.deps.pubsub.publish('backtest-progress', id, { backtestId: id }).catch(() => undefined);
  }

  /** The job: replay, store the result, publish. A backtest that throws is FAILED with its message. */
  async execute(id: string): Promise<void> {
    const { db, clock } = this.deps;
    const [claimed] = await db.update(backtests).set({ status: 'RUNNING' }).where(and(eq(backtests.id, id), eq(backtests.status, 'QUEUED'))).returning();
    if (!claimed) return; // canceled while queued, or another attempt has it
    await this.publish(id);
    const input = claimed.input as StoredInput;
    let processed = 0;
    let total = 1;
    let lastWrite = 0;
    // While bars load (before the first chunk) the heartbeat keeps progress flowing.
    const heartbeat = setInterval(() => void this.publish(id), 500);
    try {
      const rules = buildRuleSet(input.definition.kind, input.definition.params, input.definition.rules);
      const [owner] = await db.select({ ownerId: backtests.ownerId }).from(backtests).where(eq(backtests.id, id));
      const insts = await resolveUniverse(this.deps.universe, { userId: owner!.ownerId, role: 'CLIENT' }, input.definition.universe);
      const series: BacktestSeries[] = [];
      for (const i of insts) {
        const bars = await this.deps.marketData.bars(i.id, input.definition.interval, { from: new Date(input.from), to: new Date(input.to) });
        if (bars.length === 0) continue;
        const warmup = await this.deps.marketData.warmupBars(i.id, input.definition.interval, new Date(bars[0]!.time), rules);
        series.push({ symbol: i.symbol, instrumentId: i.id, lot: i.lotSize, warmup, bars });
      }
      total = Math.max(1, series.reduce((n, s) => n + s.bars.length, 0));
      const result = await runEngine(
        series,
        { rules, sizing: input.definition.sizing, initialCash: input.initialCash, feeRate: input.feeRate, slippageBps: input.slippageBps },
        {
          chunk: 20_000,
          onChunk: async (n) => {
            processed = n;
            if (Date.now() - lastWrite < PUBLISH_EVERY_MS) return false;
            lastWrite = Date.now();
            const [r] = await db.update(backtests).set({ progress: n / total, barsProcessed: n }).where(eq(backtests.id, id)).returning({ cancel: backtests.cancelRequested });
            await this.publish(id);
            return r?.cancel === true;
          },
        },
      );
      if (!result) {
        await db.update(backtests).set({ status: 'CANCELED', barsProcessed: processed, progress: processed / total, finishedAt: clock.now() }).where(eq(backtests.id, id));
        return;
      }
      const stored: StoredResult = summarize(result, input.initialCash);
      // A cancel accepted while it ran wins, even if the last chunk had already been replayed.
      const [done] = await db
        .update(backtests)
        .set({ status: 'COMPLETED', progress: 1, barsProcessed: result.barsProcessed, metrics: stored.metrics, equity: stored.equity, trades: stored.trades, signals: result.signals.length, finishedAt: clock.now() })
        .where(and(eq(backtests.id, id), eq(backtests.cancelRequested, false)))
        .returning({ id: backtests.id });
      if (!done) await db.update(backtests).set({ status: 'CANCELED', barsProcessed: result.barsProcessed, progress: 1, finishedAt: clock.now() }).where(eq(backtests.id, id));
    } catch (err) {
      this.deps.logger.error({ err, backtestId: id }, 'backtest failed');
      await db.update(backtests).set({ status: 'FAILED', error: err instanceof Error ? err.message.slice(0, 500) : 'failed', finishedAt: clock.now() }).where(eq(backtests.id, id));
    } finally {
      clearInterval(heartbeat);
      await this.publish(id);
    }
  }

  /** backtestProgress: the current state at once, then every change, until it ends. */
  async progress(viewer: Principal, id: string): Promise<AsyncIterableIterator<BacktestRow>> {
    await this.get(viewer, id);
    const it = toAsyncIterator<BacktestRow>(
      async (push) => {
        const load = () => this.get(viewer, id).then(push).catch(() => undefined);
        const unsub = await this.deps.pubsub.subscribe('backtest-progress', id, () => void load());
        await load();
        return unsub;
      },
      { overflow: 'drop-oldest', bufferSize: 64 },
    );
    await it.ready;
    return it;
  }
}

