import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { basketRunOrders, instruments, orders, portfolios } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { dec } from '../../lib/decimal.js';
import {
  BrokerAuthError,
  BrokerRateLimitedError,
  BrokerRejectedError,
  BrokerTransientError,
  type BrokerAdapter,
  type BrokerInstrument,
  type BrokerFill,
  type BrokerOrder,
} from '../../brokers/broker.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import type { OutboxRelay } from '../../events/outbox.js';
import { BROKER_JOB_OPTIONS, type OrderQueue } from '../../jobs/jobs.js';
import { isTerminal, type OrderStatus } from './order.state.js';
import type { OrderRow } from './order.snapshot.js';
import type { Metrics } from '../../server/metrics.js';
import { FillApplier } from './fill-applier.js';
import { selectOrders } from './batch-reads.js';
import { OrderTransitions } from './order.transitions.js';
import { SubmitBatcher } from './submit-batch.js';
import { AckBatcher } from './ack-batch.js';
import { HeldEvents } from './held-events.js';
import { GroupCommit } from '../../lib/group-commit.js';
import { inLiterals, uuidArray } from '../../db/batch-sql.js';
import { PermanentError } from '../../errors.js';

export interface OrderExecutionDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  queue: OrderQueue;
  relay: OutboxRelay;
  rateLimiter: RateLimiter;
  brokers: BrokerRegistry;
  metrics?: Metrics;
  /** Pooled accounts (services/pooled): a member's order waits for its window and is never sent alone. */
  pooled?: { holdsOrder(o: Pick<OrderRow, 'portfolioId'>): Promise<boolean> };
  /**
   * Notifications of orders the submit job ends (services' NotificationService): an order the paper
   * exchange filled at once is notified inside the submit job, not by a `notify` job of its own.
   */
  endings?: { orderEnded(order: OrderRow, createdAt: string): Promise<void> };
  /** How long a SUBMITTING event may wait to be published with its order's acknowledgement (default 50 ms). */
  holdSubmittingMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The worker side of the order loop: submit to the broker (adopting after a crash), apply fills,
 * cancel at the broker, and reconcile. Every status move is guarded by the status it expects.
 */
export class OrderExecutionService {
  private readonly fills: FillApplier;
  private readonly transitions: OrderTransitions;
  /**
   * Executions the broker reported while this process was placing the order (the paper exchange fills a
   * marketable order inside its placeOrder call): the submit job applies them in the acknowledgement's
   * transaction instead of a job per fill. See {@link takeOverFill}.
   */
  private readonly placing = new Map<string, BrokerFill[]>();
  private readonly submitting: SubmitBatcher;
  private readonly acks: AckBatcher;

  constructor(private readonly deps: OrderExecutionDeps) {
    // SUBMITTING events wait (briefly) to leave with the acknowledgement's: see held-events.ts.
    const relay = new HeldEvents(deps.relay, deps.holdSubmittingMs ?? 50);
    this.fills = new FillApplier({ ...deps, relay });
    this.transitions = new OrderTransitions({ ...deps, relay });
    this.submitting = new SubmitBatcher({ ...deps, relay: { published: async (events) => relay.hold(events) } });
    this.acks = new AckBatcher({ ...deps, relay, single: this.fills });
  }

  /**
   * The account at the broker: a portfolio on a broker connection trades through that connection (the
   * adapter reads its credentials); for the paper exchange each portfolio is its own account. A
   * portfolio's connection never changes, so it is cached.
   */
  private readonly accounts = new Map<string, Promise<string>>();
  private account(o: Pick<OrderRow, 'portfolioId'>): Promise<string> {
    // The promise is cached, so the orders of a run submitted together look their portfolio up once.
    let hit = this.accounts.get(o.portfolioId);
    if (!hit) {
      hit = this.deps.db
        .select({ c: portfolios.brokerConnectionId })
        .from(portfolios)
        .where(eq(portfolios.id, o.portfolioId))
        .then(([p]) => p?.c ?? o.portfolioId);
      this.accounts.set(o.portfolioId, hit);
      hit.catch(() => this.accounts.delete(o.portfolioId));
    }
    return hit;
  }

  /** The broker refused the connection's credentials: nothing is retried until the user reconnects. */
  private authRequired(orderId: string, err: BrokerAuthError): never {
    this.deps.logger.warn({ orderId, reason: err.message }, 'broker connection needs reconnecting; not retrying');
    throw new PermanentError(`BROKER_AUTH_REQUIRED: ${err.message}`);
  }

  /** The submit jobs running at once read their orders in one statement (group commit). */
  private readonly loads = new GroupCommit<string, OrderRow | null>(
    async (ids) => {
      const rows = await selectOrders(this.deps.db, sql`where id = any(${uuidArray([...new Set(ids)])})`);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    { maxBatch: 256, maxInFlight: 2 },
  );

  private async load(orderId: string): Promise<OrderRow | null> {
    const [o] = await this.deps.db.select().from(orders).where(eq(orders.id, orderId)).limit(1);
    return o ?? null;
  }

  /** Wait for a permit from the per-account limit shared by all workers (in Redis when scaled). */
  private async throttle(broker: BrokerAdapter, account: string): Promise<void> {
    if (broker.unthrottled) return;
    const key = `broker:${broker.name}:${account}`;
    for (let waited = 0; ; ) {
      const wait = await this.deps.rateLimiter.tryAcquire(key, broker.rateLimit);
      if (wait === 0) return;
      if (waited > 5_000) throw new BrokerRateLimitedError(wait);
      await sleep(wait);
      waited += wait;
    }
  }

  /**
   * submit-order. PENDING → SUBMITTING, then place with our order id as the client order id. An order
   * found already SUBMITTING (a retry, or a job whose worker died) is first looked up at the broker and
   * adopted if there, so the broker never receives it twice.
   */
  async submit(orderId: string, attempt: { attemptsMade: number; attempts: number }): Promise<void> {
    const o = await this.loads.push(orderId);
    if (!o) throw new PermanentError(`order ${orderId} does not exist`);
    return this.submitRow(o, attempt);
  }

  /**
   * submit-orders: the orders of one placement batch, read together and submitted as {@link submitMany}
   * submits them. An id with no order (impossible for a committed batch) fails the job for good, after
   * the others have gone through, as `submit-order` does for its one order.
   */
  async submitIds(orderIds: string[], attempt: { attemptsMade: number; attempts: number }): Promise<void> {
    const rows = await Promise.all(orderIds.map((id) => this.loads.push(id)));
    await this.submitMany(rows.filter((r): r is OrderRow => r !== null), attempt);
    const missing = orderIds.filter((_, i) => rows[i] === null);
    if (missing.length) throw new PermanentError(`orders ${missing.join(', ')} do not exist`);
  }

  /**
   * Many orders read together (a basket run's phase, one `basket-phase` job): each is submitted as
   * {@link submit} submits one, and all at once, so they move to SUBMITTING in one transaction
   * (SubmitBatcher), reach a batching broker together (the paper exchange records them in one
   * transaction) and are acknowledged with their immediate fills in one transaction (AckBatcher); a
   * real broker gets them one by one through the per-account rate limiter. An order found SUBMITTING
   * (the job's earlier attempt died) is looked up at the broker and adopted first, as by a retried
   * submit job. Throws if any order's submission must be retried (a retryable error before an
   * unrecoverable one), after all the others have gone through.
   */
  async submitMany(rows: OrderRow[], attempt: { attemptsMade: number; attempts: number }): Promise<void> {
    const results = await Promise.allSettled(rows.map((o) => this.submitRow(o, attempt)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length) throw failures.find((e) => !(e instanceof PermanentError)) ?? failures[0];
  }

  private async submitRow(seen: OrderRow, attempt: { attemptsMade: number; attempts: number }): Promise<void> {
    let o = seen;
    const orderId = o.id;
    if (this.deps.pooled && (await this.deps.pooled.holdsOrder(o))) return; // sent in its window's parent
    const broker = this.deps.brokers.get(o.broker);
    const account = await this.account(o);
    const isLastAttempt = attempt.attemptsMade + 1 >= attempt.attempts;

    let permit: Promise<void> | undefined;
    if (o.status === 'PENDING') {
      // The broker's permit is asked for while the move commits, not after it: one round trip to the
      // shared limiter off each order's path. (An order that turns out not to move wastes one permit.)
      permit = this.throttle(broker, account);
      permit.catch(() => undefined); // awaited below; only an order that does not move drops it
      // Group commit: the submit jobs running at once move their orders in one transaction.
      const moved = await this.submitting.markSubmitting(o);
      if (!moved) return this.submit(orderId, attempt); // canceled or picked up meanwhile: look again
      o = moved;
    } else if (o.status === 'SUBMITTING' || (o.status === 'CANCEL_REQUESTED' && !o.brokerOrderId)) {
      await this.throttle(broker, account);
      const found = await broker.getOrder(account, { clientOrderId: o.id }).catch((err: unknown) => {
        // Cannot look: it stays SUBMITTING and the reconciler looks again once the user reconnects.
        if (err instanceof BrokerAuthError) this.authRequired(o!.id, err);
        throw err;
      });
      if (found) {
        this.deps.logger.info({ orderId, brokerOrderId: found.brokerOrderId }, 'adopted order already at broker');
        this.deps.metrics?.orders.inc({ event: 'adopted' });
        return this.acknowledge(o, found, { adopted: true });
      }
      if (o.status === 'CANCEL_REQUESTED') {
        // Canceled before the broker ever saw it.
        await this.finish(o.id, 'CANCELED', null);
        return;
      }
    } else {
      // Already past submission (a duplicate or a job whose worker died after the acknowledgement):
      // nothing to send, but make sure no fill of an open order was lost with that worker.
      if (o.status === 'OPEN' || o.status === 'PARTIALLY_FILLED') {
        await this.deps.queue.add('sync-order', { orderId }, { jobId: `sync-${orderId}-resubmitted-${o.filledQuantity}`, ...BROKER_JOB_OPTIONS });
      }
      // A job that ran before may have died before its notification went out (see acknowledge()).
      if (o.status === 'FILLED') await this.deps.endings?.orderEnded(o, o.updatedAt.toISOString());
      return;
    }

    const inst = await this.instrumentOf(o.instrumentId);
    const executions: BrokerFill[] = [];
    this.placing.set(o.id, executions);
    try {
      await (permit ?? this.throttle(broker, account));
      const ack = await broker.placeOrder({
        clientOrderId: o.id,
        account,
        instrument: inst,
        side: o.side,
        type: o.type,
        timeInForce: o.timeInForce,
        quantity: o.quantity,
        limitPrice: o.limitPrice,
        stopPrice: o.stopPrice,
        protectionPrice: o.protectionPrice,
      });
      this.deps.metrics?.orders.inc({ event: 'submitted' });
      this.placing.delete(o.id);
      await this.acknowledge(o, ack, { adopted: false }, executions);
    } catch (err) {
      this.placing.delete(o.id);
      // Executions taken over and not yet written must not be dropped: back to the job loop (a replay
      // is harmless). Should that fail too, the retried job adopts the order and syncs its fills.
      if (executions.length) await this.enqueueFills(executions.splice(0));
      if (err instanceof BrokerRejectedError) {
        this.deps.metrics?.orders.inc({ event: 'rejected' });
        await this.finish(o.id, 'REJECTED', err.reason);
        return;
      }
      if (err instanceof BrokerAuthError) {
        // Nothing was placed: the broker refused our credentials. The user must reconnect.
        await this.finish(o.id, 'FAILED', `BROKER_AUTH_REQUIRED: the broker connection must be reconnected (${err.message})`);
        return;
      }
      if (err instanceof BrokerTransientError && isLastAttempt) {
        await this.giveUp(o.id, broker, account);
        return;
      }
      throw err; // transient: retried with backoff; the retry looks the order up first
    }
  }

  /** Out of retries: FAILED only once the broker confirms it never saw the order; else adopt it. */
  private async giveUp(orderId: string, broker: BrokerAdapter, account: string): Promise<void> {
    let found: BrokerOrder | null;
    try {
      found = await broker.getOrder(account, { clientOrderId: orderId });
    } catch (err) {
      // Cannot confirm either way: leave it SUBMITTING for the reconciler rather than guess.
      this.deps.logger.warn({ err, orderId }, 'broker unreachable after last attempt; leaving order for the reconciler');
      return;
    }
    if (found) {
      const o = await this.load(orderId);
      if (o) return this.acknowledge(o, found, { adopted: true });
      return;
    }
    this.deps.metrics?.orders.inc({ event: 'failed' });
    await this.finish(orderId, 'FAILED', 'broker unavailable; the order was not placed');
  }

  /**
   * A broker event listener offers each execution here first. True if the submit job now placing its
   * order will apply it in the acknowledgement's transaction (or hand it back to the job loop if that
   * fails); false if the caller must enqueue `apply-fill` itself. If this process dies first, the
   * retried submit job adopts the order and its sync applies the fills the broker has.
   */
  takeOverFill(fill: BrokerFill): boolean {
    const mine = this.placing.get(fill.clientOrderId);
    if (!mine) return false;
    mine.push(fill);
    return true;
  }

  private async enqueueFills(fills: BrokerFill[]): Promise<void> {
    for (const f of fills) {
      await this.deps.queue.add('apply-fill', { orderId: f.clientOrderId, fill: f }, { jobId: `fill-${f.clientOrderId}-${f.brokerFillId}`, ...BROKER_JOB_OPTIONS });
    }
  }

  /**
   * Record the broker's acknowledgement (and id), with the executions reported during the call in the
   * same transaction; then make sure fills and terminal states follow.
   */
  private async acknowledge(seen: OrderRow, ack: BrokerOrder, opts: { adopted: boolean }, executions: BrokerFill[] = []): Promise<void> {
    const now = this.deps.clock.now();
    const orderId = seen.id;
    const moved = seen.status === 'SUBMITTING' ? await this.acks.acknowledge(seen, ack.brokerOrderId, executions) : null;
    // Executions not written with the acknowledgement (it was not SUBMITTING, or one was applied
    // already) go the usual way, as jobs; replays are harmless.
    await this.enqueueFills(executions.splice(0));
    if (!moved) {
      // Not SUBMITTING, or no longer: a cancel may have moved it to CANCEL_REQUESTED since we read it. The
      // broker id must be recorded all the same, or the cancel job below finds none and does nothing.
      await this.deps.db
        .update(orders)
        .set({ brokerOrderId: ack.brokerOrderId, updatedAt: now })
        .where(and(eq(orders.id, orderId), isNull(orders.brokerOrderId)));
    }
    const after = moved ?? (await this.load(orderId));
    // Filled at once: its notification in this job (durable: a retried job tells again, see above).
    if (moved?.status === 'FILLED') await this.deps.endings?.orderEnded(moved, moved.updatedAt.toISOString());
    if (after?.status === 'CANCEL_REQUESTED') {
      await this.deps.queue.add('cancel-order', { orderId }, { jobId: `cancel-${orderId}`, ...BROKER_JOB_OPTIONS });
    }
    // Fills of an order we just placed arrive as broker events. An adopted order's fills may have been
    // emitted to a worker that died, and an order the broker ended at once has no more events: sync those.
    const ended = ack.status === 'REJECTED' || ack.status === 'CANCELED' || ack.status === 'EXPIRED';
    if (ended || (opts.adopted && dec(ack.filledQuantity).gt(after?.filledQuantity ?? 0))) {
      await this.deps.queue.add('sync-order', { orderId }, { jobId: `sync-${orderId}-${ack.filledQuantity}-${ack.status}`, ...BROKER_JOB_OPTIONS });
    }
  }

  /** cancel-order: ask the broker; then sync so fills that beat the cancel are applied first. */
  async cancelAtBroker(orderId: string): Promise<void> {
    const o = await this.load(orderId);
    if (!o || o.status !== 'CANCEL_REQUESTED') return;
    if (!o.brokerOrderId) return; // still being submitted; the submit job cancels it after the ack
    const broker = this.deps.brokers.get(o.broker);
    const account = await this.account(o);
    await this.throttle(broker, account);
    try {
      await broker.cancelOrder(account, o.brokerOrderId);
    } catch (err) {
      if (err instanceof BrokerAuthError) this.authRequired(orderId, err);
      if (!(err instanceof BrokerRejectedError)) throw err;
      // Already filled or gone at the broker: the sync below records what really happened.
    }
    await this.sync(orderId);
  }

  /** sync-order: apply every broker fill we lack, then a terminal status the broker reports. */
  async sync(orderId: string): Promise<void> {
    try {
      await this.syncOnce(orderId);
    } catch (err) {
      if (err instanceof BrokerAuthError) this.authRequired(orderId, err);
      throw err;
    }
  }

  private async syncOnce(orderId: string): Promise<void> {
    const o = await this.load(orderId);
    if (!o || isTerminal(o.status as OrderStatus)) return;
    const broker = this.deps.brokers.get(o.broker);
    const account = await this.account(o);
    await this.throttle(broker, account);
    const remote = o.brokerOrderId
      ? await broker.getOrder(account, { brokerOrderId: o.brokerOrderId })
      : await broker.getOrder(account, { clientOrderId: o.id });
    if (!remote) return;
    if (!o.brokerOrderId || o.status === 'SUBMITTING') await this.acknowledgeOnly(o, remote);
    for (const f of await broker.getFills(account, remote.brokerOrderId)) await this.applyFill(orderId, f);
    const after = await this.load(orderId);
    if (!after || isTerminal(after.status as OrderStatus)) return;
    if (remote.status === 'CANCELED' || remote.status === 'EXPIRED' || remote.status === 'REJECTED') {
      if (dec(after.filledQuantity).gte(remote.filledQuantity)) await this.finish(orderId, remote.status, remote.rejectReason ?? null);
    } else if (after.status === 'CANCEL_REQUESTED' && (remote.status === 'OPEN' || remote.status === 'PARTIALLY_FILLED')) {
      // The cancel was lost (its job died, or the broker dropped it): ask again; the result comes back
      // as an order event or on the next sync.
      await this.throttle(broker, account);
      await broker.cancelOrder(account, remote.brokerOrderId).catch((err: unknown) => {
        if (!(err instanceof BrokerRejectedError)) throw err;
      });
    }
  }

  private async acknowledgeOnly(o: OrderRow, remote: BrokerOrder): Promise<void> {
    const moved = o.status === 'SUBMITTING' ? await this.transitions.move(o, 'SUBMITTING', 'OPEN', { brokerOrderId: remote.brokerOrderId }) : null;
    // As in acknowledge(): if a cancel moved it meanwhile, still record the broker id.
    if (!moved)
      await this.deps.db
        .update(orders)
        .set({ brokerOrderId: remote.brokerOrderId })
        .where(and(eq(orders.id, o.id), isNull(orders.brokerOrderId)));
  }

  /** apply-fill: see FillApplier. Replays are no-ops (false). */
  applyFill(orderId: string, f: BrokerFill): Promise<boolean> {
    return this.fills.apply(orderId, f);
  }

  /** End an order that will get no more fills: status, reason, hold released, events. */
  finish(orderId: string, to: 'CANCELED' | 'REJECTED' | 'EXPIRED' | 'FAILED', reason: string | null): Promise<void> {
    return this.transitions.end(orderId, to, reason);
  }

  /**
   * The reconciler: re-enqueue PENDING orders whose job was lost, retry SUBMITTING orders stuck past
   * any job's lifetime (the handler looks them up at the broker first), and sync open orders.
   */
  async reconcile(opts: { pendingAfterMs?: number; submittingAfterMs?: number; openAfterMs?: number; batch?: number } = {}): Promise<{ requeued: number; synced: number }> {
    const now = this.deps.clock.now().getTime();
    const batch = opts.batch ?? 200;
    const older = (ms: number) => lt(orders.updatedAt, new Date(now - ms));
    const bucket = Math.floor(now / 10_000);
    const pending = await this.deps.db
      .select({ id: orders.id, status: orders.status })
      .from(orders)
      .where(
        // A basket run's order has its phase's job (retried with backoff): it is only taken over alone once
        // as old as a stuck SUBMITTING one, not while that job waits its turn behind a burst of runs.
        sql`(${orders.status} = 'PENDING' and ${older(opts.pendingAfterMs ?? 5_000)} and (${older(opts.submittingAfterMs ?? 60_000)} or not exists (select 1 from ${basketRunOrders} b where b.order_id = ${orders.id})))
            or (${orders.status} = 'SUBMITTING' and ${older(opts.submittingAfterMs ?? 60_000)})`,
      )
      .limit(batch);
    for (const r of pending) {
      await this.deps.queue.add('submit-order', { orderId: r.id }, { jobId: `submit-${r.id}-${bucket}`, ...BROKER_JOB_OPTIONS });
    }
    const open = await this.deps.db
      .select({ id: orders.id })
      .from(orders)
      .where(and(inLiterals(orders.status, ['OPEN', 'PARTIALLY_FILLED', 'CANCEL_REQUESTED']), older(opts.openAfterMs ?? 30_000)))
      .limit(batch);
    for (const r of open) await this.deps.queue.add('sync-order', { orderId: r.id }, { jobId: `sync-${r.id}-${bucket}`, ...BROKER_JOB_OPTIONS });
    return { requeued: pending.length, synced: open.length };
  }

  /** Instruments' broker-facing fields, cached: reference data that does not change under an order. */
  private readonly instrumentCache = new Map<string, BrokerInstrument>();
  private async instrumentOf(id: string): Promise<BrokerInstrument> {
    const hit = this.instrumentCache.get(id);
    if (hit) return hit;
    const [i] = await this.deps.db.select().from(instruments).where(eq(instruments.id, id));
    const inst = { symbol: i.symbol, exchange: i.exchange, currency: i.currency, tickSize: i.tickSize, lotSize: i.lotSize };
    this.instrumentCache.set(id, inst);
    return inst;
  }
}
