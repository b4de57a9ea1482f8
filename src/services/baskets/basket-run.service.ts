import type { AuditPort } from '../people/audit.service.js';
import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { basketRunOrders, basketRuns, fills, orders } from '../../db/schema/index.js';
import { isUniqueViolation } from '../../db/errors.js';
import { BadInputError, IdempotencyConflictError, InvalidStateError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { dec, fmt, type Decimal } from '../../lib/decimal.js';
import { appendEvents, lockPortfolio, type NewEvent, type OutboxRelay, type StoredEvent } from '../../events/outbox.js';
import { BROKER_JOB_OPTIONS, type OrderQueue } from '../../jobs/jobs.js';
import { validateClientOrderId } from '../orders/order.validation.js';
import type { InstrumentRow, InstrumentService } from '../instrument.service.js';
import type { PortfolioRow, PortfolioService } from '../portfolio.service.js';
import { balances } from '../ledger.js';
import type { OrderRow } from '../orders/order.snapshot.js';
import { sizeBuys, type BuyCandidate, type CostModel } from './planner.js';
import { RunPlacer, type RefusedLine, type RunLine } from './run-placer.js';
import { finalStatus, isTerminal, sellProceeds, summarize, type ExecutionLineJson, type RunOrderView } from './run-summary.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import { runEvent } from './run-event.js';
import { runsReadyToAdvance, runsReadyToSweep } from './run-nudge.js';
import { GroupCommit } from '../../lib/group-commit.js';
export { runFromSnapshot, type BasketRunSnapshot } from './run-event.js';

export type BasketRunRow = typeof basketRuns.$inferSelect;
export type RunKind = BasketRunRow['kind'];
export type RunPhase = 'SELL' | 'BUY';

/** The one job that submits a run's phase: its id is the run's and the phase's, so adding it twice is a no-op. */
export function phaseJobId(runId: string, phase: RunPhase): string {
  return `run-${runId}-${phase}`;
}

/** A buy the run places after its sells have filled, sized then on the cash they raised. */
export interface BuyWantJson {
  instrumentId: string;
  targetValue: string;
  maxQuantity: string | null;
}

/** What a run still has to do, stored with it (JSON-safe). */
export interface RunPlanJson {
  /** Budget for the buy phase beyond the sells' net proceeds (an invest-more amount). */
  extraCash: string;
  /** Size the buy phase on all available cash instead (target portfolios, explicit lines). */
  useAvailableCash: boolean;
  buyWants: BuyWantJson[];
  minTicket: string;
  refused: RefusedLine[];
}

/** What a caller asks for: sells now, buys now (no sells) or buys after the sells. */
export interface RunRequest {
  portfolioId: string;
  kind: RunKind;
  investmentId?: string | null;
  clientRequestId?: string | null;
  /** Fingerprint of the request's parameters (idempotent replay vs conflicting reuse). */
  requestHash: string;
  sells: RunLine[];
  /** Buys placed in the same transaction (runs with no sells). */
  buysNow: RunLine[];
  /** Buys placed once the sells have ended, sized on what they raised. */
  buyWants: BuyCandidate[];
  extraCash?: Decimal;
  useAvailableCash?: boolean;
  minTicket?: Decimal;
}

/** Hooks the investment service plugs in: holdings and status move in the run's own transactions. */
export interface RunHooks {
  /** In the creating transaction, before the run row (portfolio locked): e.g. insert the new investment. */
  beforeRun?(tx: Tx): Promise<void>;
  /** In the creating transaction, after the orders are placed (portfolio locked). */
  onCreated?(tx: Tx, run: BasketRunRow, placed: OrderRow[]): Promise<void>;
  /** In the buy phase's transaction, after the buys are placed. */
  onBuysPlaced?(tx: Tx, run: BasketRunRow, placed: OrderRow[]): Promise<void>;
  /** In the completing transaction: attribute the fills, set the investment's status. */
  onCompleted?(tx: Tx, run: BasketRunRow, orders: RunOrderView[], status: 'COMPLETED' | 'PARTIAL' | 'FAILED'): Promise<void>;
}

const ACTIVE = ['PLACING', 'SELLING', 'BUYING'] as const;

/**
 * Basket runs: a group of orders placed in ONE transaction with their holds and events, sells first; the
 * buys follow once every sell has ended, sized on the cash the sells actually raised (a second step
 * driven by order-settled hooks from the job loop and a periodic sweep); the run ends with an execution
 * summary per line, pushed as BASKET_RUN_UPDATED on the portfolio's outbox sequence.
 */
export class BasketRunService {
  private readonly placer: RunPlacer;
  private hooks: RunHooks = {};

  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      logger: Logger;
      queue: OrderQueue;
      relay: OutboxRelay;
      instruments: InstrumentService;
      portfolios: PortfolioService;
      brokers: BrokerRegistry;
      cost: (portfolio: PortfolioRow) => CostModel;
      buffer: Decimal;
      maxOrderNotional: string;
      /** The audit log: each run placed (its kind, portfolio, investment and order count). */
      audit?: AuditPort;
    },
  ) {
    this.placer = new RunPlacer({ instruments: deps.instruments, brokers: deps.brokers, buffer: deps.buffer, maxOrderNotional: deps.maxOrderNotional });
  }

  setHooks(hooks: RunHooks): void {
    this.hooks = hooks;
  }

  /** The earlier run for this clientRequestId, if the same request; IDEMPOTENCY_CONFLICT if different. */
  async replay(userId: string, clientRequestId: string | null | undefined, requestHash: string): Promise<BasketRunRow | null> {
    if (clientRequestId == null) return null;
    let id: string;
    try {
      id = validateClientOrderId(clientRequestId.trim());
    } catch {
      throw new BadInputError('clientRequestId must be 1–64 characters of letters, digits, . _ : -', 'clientRequestId', 'INVALID_CLIENT_REQUEST_ID');
    }
    const [r] = await this.deps.db
      .select()
      .from(basketRuns)
      .where(and(eq(basketRuns.userId, userId), eq(basketRuns.clientRequestId, id)))
      .limit(1);
    if (!r) return null;
    if (r.requestHash !== requestHash) throw new IdempotencyConflictError(id);
    return r;
  }

  /**
   * Place a run from planned lines for a portfolio (the door for proposals and every basket action):
   * in ONE transaction the run, its first phase's orders, their holds and links, and the events.
   */
  async place(viewer: Principal, req: RunRequest, hooks: RunHooks = this.hooks): Promise<BasketRunRow> {
    const prior = await this.replay(viewer.userId, req.clientRequestId, req.requestHash);
    if (prior) return prior;
    const portfolio = await this.deps.portfolios.getForTrading(viewer, req.portfolioId);
    const clientRequestId = req.clientRequestId == null ? randomUUID() : req.clientRequestId.trim();
    const now = this.deps.clock.now();
    const runId = randomUUID();
    const phase: 'SELL' | 'BUY' | null = req.sells.length ? 'SELL' : req.buysNow.length ? 'BUY' : null;
    const plan: RunPlanJson = {
      extraCash: fmt(req.extraCash ?? dec(0)),
      useAvailableCash: req.useAvailableCash ?? false,
      buyWants: req.sells.length
        ? req.buyWants.map((w) => ({ instrumentId: w.instrumentId, targetValue: w.targetValue.toFixed(), maxQuantity: w.maxQuantity?.toFixed() ?? null }))
        : [],
      minTicket: fmt(req.minTicket ?? dec(0)),
      refused: [],
    };
    let result: { run: BasketRunRow; placed: OrderRow[]; events: StoredEvent[] };
    try {
      // The portfolio is locked LATE (see RunPlacer.placeThenLockInTx): the run, its orders, holds and links
      // are written first, the lock is taken with the reads the risk rules need, and the events are numbered
      // by the last statement before the commit.
      result = await this.deps.db.transaction(async (tx) => {
        await hooks.beforeRun?.(tx);
        const status = phase === 'SELL' ? 'SELLING' : phase === 'BUY' ? 'BUYING' : 'COMPLETED';
        const [run] = await tx
          .insert(basketRuns)
          .values({
            id: runId,
            userId: viewer.userId,
            portfolioId: portfolio.id,
            investmentId: req.investmentId ?? null,
            kind: req.kind,
            status,
            clientRequestId,
            requestHash: req.requestHash,
            plan,
            summary: phase ? null : [],
            createdAt: now,
            updatedAt: now,
            completedAt: phase ? null : now,
          })
          .returning();
        const lines = phase === 'SELL' ? req.sells : req.buysNow;
        // Under the portfolio's lock, as before: no other run of the investment in flight (this one aside).
        const investmentId = req.investmentId;
        const busyCheck = investmentId
          ? tx.select({ id: basketRuns.id }).from(basketRuns).where(and(eq(basketRuns.investmentId, investmentId), inArray(basketRuns.status, [...ACTIVE]), ne(basketRuns.id, runId))).limit(1)
          : Promise.resolve([] as { id: string }[]);
        const batch = await this.placer.placeThenLockInTx(tx, { userId: viewer.userId, portfolio, runId, phase: phase ?? 'BUY', lines, now, startIndex: 0 }, busyCheck);
        const [busy] = batch.extra;
        if (busy) throw new InvalidStateError('Another run of this investment is still in flight', { runId: busy.id });
        await hooks.onCreated?.(tx, run, batch.orders);
        if (!phase) await hooks.onCompleted?.(tx, run, [], 'COMPLETED');
        const events: NewEvent[] = [...batch.events, runEvent(run, phase ? null : [])];
        return { run, placed: batch.orders, events: await appendEvents(tx, portfolio.id, events, now) };
      });
    } catch (err) {
      if (isUniqueViolation(err) && req.clientRequestId != null) {
        const winner = await this.replay(viewer.userId, req.clientRequestId, req.requestHash);
        if (winner) return winner;
      }
      throw err;
    }
    await this.afterCommit(result.events, result.run.id, phase ?? 'BUY', result.placed);
    await this.deps.audit
      ?.record({
        actorId: viewer.userId,
        action: 'basket_run.placed',
        subjectId: result.run.id,
        data: { kind: result.run.kind, portfolioId: result.run.portfolioId, investmentId: result.run.investmentId, orders: result.placed.length },
      })
      .catch((err: unknown) => this.deps.logger.warn({ err, runId: result.run.id }, 'basket run not audited'));
    return result.run;
  }

  /**
   * After a phase's orders committed: publish, then ONE `basket-phase` job submits them all (see
   * run-submit.ts). Should that add fail, the reconciler finds the orders PENDING and submits each alone.
   */
  private async afterCommit(events: StoredEvent[], runId: string, phase: RunPhase, placed: OrderRow[]): Promise<void> {
    await this.deps.relay.published(events);
    if (placed.length) await this.deps.queue.add('basket-phase', { runId, phase }, { jobId: phaseJobId(runId, phase), ...BROKER_JOB_OPTIONS });
  }

  /**
   * Called by the job loop after any job on an order: moves its run on if all its orders have ended.
   * Nudges arriving together are checked in one statement (group commit, {@link runsReadyToAdvance}).
   */
  onOrderSettled(orderId: string): Promise<void> {
    return this.settled.push(orderId);
  }

  private readonly settled = new GroupCommit<string, void>((ids) => this.settle(ids), { maxBatch: 256, maxInFlight: 1 });
  private async settle(orderIds: string[]): Promise<void[]> {
    for (const runId of await runsReadyToAdvance(this.deps.db, [...new Set(orderIds)])) {
      await this.advance(runId).catch((err: unknown) => this.deps.logger.warn({ err, runId }, 'basket run not advanced; the sweep will retry'));
    }
    return orderIds.map(() => undefined);
  }

  /** Periodic safety net: advance every run in flight whose current phase has ended. */
  async sweep(): Promise<number> {
    // Only the runs that can move on (one statement), and none another advance holds: that one moves it
    // (sweeps may overlap when one takes longer than the interval).
    let moved = 0;
    for (const id of await runsReadyToSweep(this.deps.db, 500)) if (await this.advance(id, { skipLocked: true })) moved++;
    return moved;
  }

  /**
   * Move a run on, idempotently (guarded by its status, under its row lock): when every sell has ended,
   * place the buys sized on what the sells raised; when every order has ended, write the summary.
   */
  async advance(runId: string, opts: { skipLocked?: boolean } = {}): Promise<boolean> {
    const now = this.deps.clock.now();
    const res = await this.deps.db.transaction(async (tx) => {
      const [run] = await tx.select().from(basketRuns).where(eq(basketRuns.id, runId)).for('update', opts.skipLocked ? { skipLocked: true } : {});
      if (!run || !(ACTIVE as readonly string[]).includes(run.status)) return null;
      const runOrders = await this.ordersOfRun(tx, runId);
      if (!runOrders.every((o) => isTerminal(o.status))) return null;
      const plan = run.plan as RunPlanJson;
      const events: NewEvent[] = [];
      let placed: OrderRow[] = [];
      if (run.status === 'SELLING' && plan.buyWants.length) {
        // The buys are sized on the cash and holds as they stand: under the portfolio's lock.
        const p = await lockPortfolio(tx, run.portfolioId);
        if (!p) return null;
        const cash = dec(p.cash);
        const available = (await balances(tx, p.id, cash)).available;
        const raised = dec(sellProceeds(runOrders)).add(plan.extraCash);
        const budget = plan.useAvailableCash ? available : Decimal0(Decimal_min(raised, available));
        // On the transaction's connection: runs advancing together must not wait on the pool for it.
        const insts = await this.deps.instruments.byIds(
          plan.buyWants.map((w) => w.instrumentId),
          tx,
        );
        const byId = new Map(insts.map((i) => [i.id, i]));
        const wants: BuyCandidate[] = [];
        for (const w of plan.buyWants) {
          const inst = byId.get(w.instrumentId);
          const q = inst && this.deps.instruments.quoteOf(inst);
          if (!inst || !q) continue;
          wants.push({ instrumentId: inst.id, price: dec(q.ask ?? q.last), lotSize: dec(inst.lotSize), targetValue: dec(w.targetValue), maxQuantity: w.maxQuantity ? dec(w.maxQuantity) : null });
        }
        const lines: RunLine[] = sizeBuys(budget, wants, dec(plan.minTicket), this.deps.cost(p)).map((l) => ({ instrument: byId.get(l.instrumentId)!, side: 'BUY', quantity: l.quantity, price: l.estimatedPrice }));
        if (lines.length) {
          const batch = await this.placer.placeInTx(tx, { userId: run.userId, portfolio: p, runId, phase: 'BUY', lines, now, strict: false, cash, startIndex: runOrders.length });
          placed = batch.orders;
          events.push(...batch.events);
          const newPlan: RunPlanJson = { ...plan, refused: [...plan.refused, ...batch.refused] };
          await tx.update(basketRuns).set({ plan: newPlan, status: 'BUYING', updatedAt: now }).where(eq(basketRuns.id, runId));
          const updated = { ...run, plan: newPlan, status: 'BUYING' as const, updatedAt: now };
          await this.hooks.onBuysPlaced?.(tx, updated, placed);
          if (placed.length) {
            events.push(runEvent(updated, null));
            return { events: await appendEvents(tx, p.id, events, now), placed };
          }
        }
      }
      // Everything has ended: the summary, the status, the investment's books. No money moves here, so the
      // portfolio is locked only by the last statement (appendEvents numbers the events), just before the
      // commit: the run's row lock above keeps two advances of one run apart.
      const [fresh, [cur]] = await Promise.all([this.ordersOfRun(tx, runId), tx.select().from(basketRuns).where(eq(basketRuns.id, runId))]);
      const summary = summarize(fresh, (cur.plan as RunPlanJson).refused);
      const status = summary.length === 0 ? 'COMPLETED' : finalStatus(summary);
      const [done] = await tx.update(basketRuns).set({ status, summary, completedAt: now, updatedAt: now }).where(eq(basketRuns.id, runId)).returning();
      await this.hooks.onCompleted?.(tx, done, fresh, status);
      events.push(runEvent(done, summary));
      return { events: await appendEvents(tx, run.portfolioId, events, now), placed };
    });
    if (!res) return false;
    await this.afterCommit(res.events, runId, 'BUY', res.placed);
    return true;
  }

  async ordersOfRun(tx: Db | Tx, runId: string): Promise<RunOrderView[]> {
    return tx
      .select({
        id: orders.id,
        instrumentId: orders.instrumentId,
        side: orders.side,
        quantity: orders.quantity,
        filledQuantity: orders.filledQuantity,
        averageFillPrice: orders.averageFillPrice,
        filledValue: sql<string>`coalesce((select sum(${fills.quantity} * ${fills.price}) from ${fills} where ${fills.orderId} = ${orders.id}), 0)::text`,
        feesPaid: orders.feesPaid,
        status: orders.status,
        rejectReason: orders.rejectReason,
      })
      .from(basketRunOrders)
      .innerJoin(orders, eq(orders.id, basketRunOrders.orderId))
      .where(eq(basketRunOrders.runId, runId))
      .orderBy(orders.clientOrderId);
  }

  /** A run the viewer may read (via its portfolio); anyone else's is NOT_FOUND. */
  async get(viewer: Principal, id: string): Promise<BasketRunRow> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('BasketRun', id);
    const [r] = await this.deps.db.select().from(basketRuns).where(eq(basketRuns.id, id)).limit(1);
    if (!r) throw new NotFoundError('BasketRun', id);
    await this.deps.portfolios.get(viewer, r.portfolioId).catch(() => {
      throw new NotFoundError('BasketRun', id);
    });
    return r;
  }

  async runsOfInvestment(investmentId: string): Promise<BasketRunRow[]> {
    return this.deps.db.select().from(basketRuns).where(eq(basketRuns.investmentId, investmentId)).orderBy(desc(basketRuns.createdAt));
  }

  async activeRunOf(tx: Db | Tx, investmentId: string): Promise<BasketRunRow | null> {
    const [r] = await tx
      .select()
      .from(basketRuns)
      .where(and(eq(basketRuns.investmentId, investmentId), inArray(basketRuns.status, [...ACTIVE])))
      .limit(1);
    return r ?? null;
  }

  /** The stored summary once ended; while in flight, the orders as they stand. */
  async summaryOf(run: BasketRunRow): Promise<ExecutionLineJson[]> {
    if (run.summary) return run.summary as ExecutionLineJson[];
    return summarize(await this.ordersOfRun(this.deps.db, run.id), (run.plan as RunPlanJson).refused);
  }

  /** The run's orders (of one phase if given), in one statement. */
  async orderRowsOf(runId: string, phase?: RunPhase): Promise<OrderRow[]> {
    const rows = await this.deps.db
      .select({ o: orders })
      .from(basketRunOrders)
      .innerJoin(orders, eq(orders.id, basketRunOrders.orderId))
      .where(phase ? and(eq(basketRunOrders.runId, runId), eq(basketRunOrders.phase, phase)) : eq(basketRunOrders.runId, runId))
      .orderBy(orders.clientOrderId);
    return rows.map((r) => r.o);
  }

  /** For the instruments: resolve symbols (unknown → BAD_USER_INPUT on the field given). */
  async instrumentsByIds(ids: string[]): Promise<Map<string, InstrumentRow>> {
    return new Map((await this.deps.instruments.byIds(ids)).map((i) => [i.id, i]));
  }

  /** Count of runs still in flight (bench and tests). */
  async inFlight(): Promise<number> {
    const [r] = await this.deps.db.select({ n: sql<number>`count(*)::int` }).from(basketRuns).where(inArray(basketRuns.status, [...ACTIVE]));
    return r.n;
  }
}

function Decimal_min(a: Decimal, b: Decimal): Decimal {
  return a.lt(b) ? a : b;
}
function Decimal0(a: Decimal): Decimal {
  return a.isNegative() ? dec(0) : a;
}

