import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { strategies, strategyPositions, strategyRuns, strategySignals, users } from '../../db/schema/index.js';
import type { PubSub } from '../../events/pubsub.js';
import type { Clock } from '../../lib/clock.js';
import { dec, fmt, ZERO } from '../../lib/decimal.js';
import type { Logger } from '../../lib/logger.js';
import type { Bar } from '../../market/history.js';
import { INTERVAL_MS, type IntervalCode } from '../../market/intervals.js';
import { buildRuleSet, type RuleSet, type RulesSpec, type SignalAction, type StrategyKind } from '../../strategies/definition.js';
import { SymbolEngine, type Side } from '../../strategies/signal-engine.js';
import { entryQuantity, type Sizing } from '../../strategies/sizing.js';
import { DomainError } from '../../errors.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';
import type { OrderService } from '../orders/order.service.js';
import type { PortfolioService } from '../portfolio.service.js';
import type { MarketDataService } from './market-data.service.js';
import { resolveUniverse, type UniverseInput, type UniverseSources } from './universe.js';
import type { NotifierPort } from '../../notifications/notification.service.js';
import { eventId } from '../../notifications/events.js';

export type StrategyRow = typeof strategies.$inferSelect;
export type RunRow = typeof strategyRuns.$inferSelect;

/** The client order id of a strategy's order: the same strategy, bar, symbol and action can never trade twice. */
export function strategyClientOrderId(strategyId: string, barTime: Date, instrumentId: string, action: SignalAction): string {
  const h = createHash('sha256').update(`${strategyId}|${barTime.toISOString()}|${instrumentId}|${action}`).digest('hex');
  return `st-${h.slice(0, 40)}`;
}

/**
 * What one instrument does on the bars it has not yet evaluated: replay `warm` (indicator warm-up, no
 * actions), then each new bar in order from the stored side. Pure; live runs, the replay test and
 * backtests share it through SymbolEngine.
 */
export function evaluateNewBars(rules: RuleSet, side: Side, warm: readonly Bar[], fresh: readonly Bar[]): { side: Side; actions: { bar: Bar; action: SignalAction }[] } {
  const engine = new SymbolEngine(rules, side);
  for (const b of warm) engine.warm(b);
  const actions: { bar: Bar; action: SignalAction }[] = [];
  for (const b of fresh) for (const a of engine.next(b)) actions.push({ bar: b, action: a });
  return { side: engine.side, actions };
}

/** Closed bars a first run evaluates (later runs evaluate every bar since the last one, up to this many). */
const MAX_NEW_BARS = 500;

export interface RunnerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  pubsub: PubSub;
  instruments: InstrumentService;
  portfolios: PortfolioService;
  orders: OrderService;
  marketData: MarketDataService;
  universe: UniverseSources;
  /** Tells the owner of each new signal (in-app, webhook, email per their preferences). */
  notifier?: NotifierPort;
}

/**
 * Runs a strategy over its universe on closed bars: records the run, each instrument's new signals
 * (unique per strategy, bar, instrument and action), places AUTO orders through the order service with a
 * deterministic client order id, and leaves APPROVAL signals waiting. An instrument that fails is recorded
 * in the run's error and the others carry on; a run never throws to its caller.
 */
export class StrategyRunner {
  constructor(private readonly deps: RunnerDeps) {}

  /** Start a run; null when `tickKey` already ran (another worker took this tick). */
  async run(strategy: StrategyRow, trigger: 'MANUAL' | 'SCHEDULE', tickKey?: string): Promise<RunRow | null> {
    const { db, clock } = this.deps;
    const started = clock.now();
    const [run] = await db
      .insert(strategyRuns)
      .values({ strategyId: strategy.id, status: 'RUNNING', trigger, tickKey: tickKey ?? null, startedAt: started })
      .onConflictDoNothing({ target: [strategyRuns.strategyId, strategyRuns.tickKey] })
      .returning();
    if (!run) return null;
    const t0 = performance.now();
    let evaluated = 0;
    let ordersPlaced = 0;
    const errors: string[] = [];
    try {
      const rules = buildRuleSet(strategy.kind as StrategyKind, (strategy.params ?? {}) as Record<string, unknown>, strategy.rules as RulesSpec | null);
      const [owner] = await db.select({ role: users.role }).from(users).where(eq(users.id, strategy.ownerId));
      const universe = await resolveUniverse(this.deps.universe, { userId: strategy.ownerId, role: owner!.role }, strategy.universe as UniverseInput);
      const interval = strategy.interval as IntervalCode;
      const now = clock.now();
      for (const inst of universe) {
        try {
          ordersPlaced += await this.evaluateInstrument(strategy, run.id, rules, inst, interval, now);
          evaluated++;
        } catch (err) {
          errors.push(`${inst.symbol}: ${err instanceof DomainError ? err.message : 'internal error'}`);
          if (!(err instanceof DomainError)) this.deps.logger.error({ err, strategyId: strategy.id, symbol: inst.symbol }, 'strategy failed on an instrument');
        }
      }
    } catch (err) {
      errors.push(err instanceof DomainError ? err.message : 'internal error');
      if (!(err instanceof DomainError)) this.deps.logger.error({ err, strategyId: strategy.id }, 'strategy run failed');
    }
    const [done] = await db
      .update(strategyRuns)
      .set({
        status: errors.length && evaluated === 0 ? 'FAILED' : 'COMPLETED',
        finishedAt: clock.now(),
        evaluated,
        orders: ordersPlaced,
        durationMs: Math.round(performance.now() - t0),
        error: errors.length ? errors.join('; ').slice(0, 2000) : null,
      })
      .where(eq(strategyRuns.id, run.id))
      .returning();
    return done!;
  }

  private async evaluateInstrument(s: StrategyRow, runId: string, rules: RuleSet, inst: InstrumentRow, interval: IntervalCode, now: Date): Promise<number> {
    const { db } = this.deps;
    const [pos] = await db.select().from(strategyPositions).where(and(eq(strategyPositions.strategyId, s.id), eq(strategyPositions.instrumentId, inst.id)));
    // Closed bars only: a bar whose end is still ahead is forming.
    const closedBefore = new Date(now.getTime() - INTERVAL_MS[interval]);
    const fresh = pos?.lastBarAt
      ? (await this.deps.marketData.bars(inst.id, interval, { from: new Date(pos.lastBarAt.getTime() + 1), to: closedBefore, max: MAX_NEW_BARS }))
      : await this.deps.marketData.bars(inst.id, interval, { to: closedBefore, last: 1 });
    if (fresh.length === 0) return 0;
    const warm = await this.deps.marketData.warmupBars(inst.id, interval, new Date(fresh[0]!.time), rules);
    const side = (pos?.side ?? 'FLAT') as Side;
    const out = evaluateNewBars(rules, side, warm, fresh);
    let qty = dec(pos?.quantity ?? '0');
    let placed = 0;
    for (const { bar, action } of out.actions) {
      const entering = action === 'ENTER_LONG' || action === 'ENTER_SHORT';
      const price = dec(String(bar.close));
      let quantity = entering ? await this.entrySize(s, price, dec(inst.lotSize)) : qty;
      const status = s.mode === 'AUTO' ? 'ORDERED' : s.mode === 'APPROVAL' ? 'PENDING_APPROVAL' : 'NEW';
      const [sig] = await db
        .insert(strategySignals)
        .values({ strategyId: s.id, runId, instrumentId: inst.id, action, price: price.toFixed(), quantity: quantity.toFixed(), barTime: new Date(bar.time), status, reason: rules.expressions[ruleKey(action)] ?? null })
        .onConflictDoNothing()
        .returning();
      if (!sig) continue; // this bar already signalled (a re-evaluation): nothing more to do
      if (s.mode === 'AUTO' && s.portfolioId && quantity.gt(0)) {
        try {
          await this.placeFor(s, sig.id, inst, action, quantity, new Date(bar.time));
          placed++;
        } catch (err) {
          const reason = err instanceof DomainError ? err.message : 'internal error';
          await db.update(strategySignals).set({ status: 'FAILED', reason: `order refused: ${reason}`.slice(0, 500) }).where(eq(strategySignals.id, sig.id));
          if (entering) quantity = ZERO;
        }
      }
      qty = entering ? quantity : ZERO;
      await this.deps.pubsub.publish('strategy-signals', s.ownerId, { signalId: sig.id, strategyId: s.id }).catch(() => undefined);
      await this.deps.notifier
        ?.emit({
          id: eventId(`strategy.signal:${sig.id}`),
          type: 'strategy.signal',
          userId: s.ownerId,
          title: `${s.name}: ${action.replace('_', ' ').toLowerCase()} ${inst.symbol}`,
          body: `${s.name} signalled ${action} on ${inst.symbol} at the bar of ${new Date(bar.time).toISOString()}${s.mode === 'APPROVAL' ? '; it waits for your approval' : ''}.`,
          data: { strategyId: s.id, signalId: sig.id, symbol: inst.symbol, exchange: inst.exchange, action, barTime: new Date(bar.time).toISOString() },
        })
        .catch((err: unknown) => this.deps.logger.warn({ err, signalId: sig.id }, 'strategy signal notification not queued'));
    }
    const last = new Date(fresh[fresh.length - 1]!.time);
    await db
      .insert(strategyPositions)
      .values({ strategyId: s.id, instrumentId: inst.id, side: out.side, quantity: qty.toFixed(), lastBarAt: last })
      .onConflictDoUpdate({ target: [strategyPositions.strategyId, strategyPositions.instrumentId], set: { side: out.side, quantity: qty.toFixed(), lastBarAt: last } });
    return placed;
  }

  private async entrySize(s: StrategyRow, price: ReturnType<typeof dec>, lot: ReturnType<typeof dec>) {
    const sizing = s.sizing as Sizing;
    let equity = ZERO;
    if (sizing.percentOfEquity && s.portfolioId) {
      // Cash and positions from one snapshot (one statement), so a fill between them is never half counted.
      const d = (await this.deps.portfolios.detailsMany([s.portfolioId])).get(s.portfolioId);
      if (d) equity = d.positions.reduce((sum, p) => sum.plus(p.marketValue ?? '0'), d.balances.cash);
    }
    return entryQuantity(sizing, price, equity, lot);
  }

  /** Place the order of a signal (AUTO at once; APPROVAL when approved). Idempotent through its client order id. */
  async placeFor(s: StrategyRow, signalId: string, inst: InstrumentRow, action: SignalAction, quantity: ReturnType<typeof dec>, barTime: Date): Promise<void> {
    const [owner] = await this.deps.db.select({ role: users.role }).from(users).where(eq(users.id, s.ownerId));
    const order = await this.deps.orders.place(
      { userId: s.ownerId, role: owner!.role },
      {
        portfolioId: s.portfolioId!,
        symbol: inst.symbol,
        exchange: inst.exchange,
        side: action === 'ENTER_LONG' || action === 'EXIT_SHORT' ? 'BUY' : 'SELL',
        type: 'MARKET',
        quantity: fmt(quantity),
        clientOrderId: strategyClientOrderId(s.id, barTime, inst.id, action),
      },
    );
    await this.deps.db.update(strategySignals).set({ status: 'ORDERED', orderId: order.id }).where(eq(strategySignals.id, signalId));
  }
}

function ruleKey(a: SignalAction) {
  return a === 'ENTER_LONG' ? 'enterLong' : a === 'EXIT_LONG' ? 'exitLong' : a === 'ENTER_SHORT' ? 'enterShort' : ('exitShort' as const);
}

