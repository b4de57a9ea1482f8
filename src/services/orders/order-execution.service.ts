import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { orders } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { dec } from '../../lib/decimal.js';
import {
  BrokerAuthError,
  BrokerRejectedError,
  BrokerTransientError,
  type BrokerAdapter,
  type BrokerFill,
  type BrokerOrder,
} from '../../brokers/broker.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import type { OutboxRelay } from '../../events/outbox.js';
import { BROKER_JOB_OPTIONS, type OrderQueue } from '../../jobs/jobs.js';
import type { OrderRow } from './order.snapshot.js';
import type { OrderMetrics } from './order-metrics.js';
import { FillApplier } from './fill-applier.js';
import { selectOrders } from './batch-reads.js';
import { OrderTransitions } from './order.transitions.js';
import { SubmitBatcher } from './submit-batch.js';
import { AckBatcher } from './ack-batch.js';
import { HeldEvents } from './held-events.js';
import { GroupCommit } from '../../lib/group-commit.js';
import { uuidArray } from '../../db/batch-sql.js';
import { PermanentError } from '../../errors.js';
import { BrokerAccess } from './order.broker-access.js';
import { OrderSync } from './order.sync.js';
import { reconcileOrders, type ReconcileOptions } from './order.reconcile.js';

export interface OrderExecutionDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  queue: OrderQueue;
  relay: OutboxRelay;
  rateLimiter: RateLimiter;
  brokers: BrokerRegistry;
  metrics?: OrderMetrics;
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
  private readonly access: BrokerAccess;
  private readonly syncing: OrderSync;

  constructor(private readonly deps: OrderExecutionDeps) {
    // SUBMITTING events wait (briefly) to leave with the acknowledgement's: see held-events.ts.
    const relay = new HeldEvents(deps.relay, deps.holdSubmittingMs ?? 50);
    this.fills = new FillApplier({ ...deps, relay });
    this.transitions = new OrderTransitions({ ...deps, relay });
    this.submitting = new SubmitBatcher({ ...deps, relay: { published: async (events) => relay.hold(events) } });
    this.acks = new AckBatcher({ ...deps, relay, single: this.fills });
    this.access = new BrokerAccess(deps);
    this.syncing = new OrderSync({
      db: deps.db,
      brokers: deps.brokers,
      access: this.access,
      transitions: this.transitions,
      load: (orderId) => this.load(orderId),
      applyFill: (orderId, f) => this.applyFill(orderId, f),
      finish: (orderId, to, reason) => this.finish(orderId, to, reason),
    });
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
    const account = await this.access.account(o);
    const isLastAttempt = attempt.attemptsMade + 1 >= attempt.attempts;

    let permit: Promise<void> | undefined;
    if (o.status === 'PENDING') {
      // The broker's permit is asked for while the move commits, not after it: one round trip to the
      // shared limiter off each order's path. (An order that turns out not to move wastes one permit.)
      permit = this.access.throttle(broker, account);
      permit.catch(() => undefined); // awaited below; only an order that does not move drops it
      // Group commit: the submit jobs running at once move their orders in one transaction.
      const moved = await this.submitting.markSubmitting(o);
      if (!moved) return this.submit(orderId, attempt); // canceled or picked up meanwhile: look again
      o = moved;
    } else if (o.status === 'SUBMITTING' || (o.status === 'CANCEL_REQUESTED' && !o.brokerOrderId)) {
      await this.access.throttle(broker, account);
      const found = await broker.getOrder(account, { clientOrderId: o.id }).catch((err: unknown) => {
        // Cannot look: it stays SUBMITTING and the reconciler looks again once the user reconnects.
        if (err instanceof BrokerAuthError) this.access.authRequired(o!.id, err);
        throw err;
      });
      if (found) {
        this.deps.logger.info({ orderId, brokerOrderId: found.brokerOrderId }, 'adopted order already at broker');
        this.deps.metrics?.orderEvent('adopted');
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

    const inst = await this.access.instrumentOf(o.instrumentId);
    const executions: BrokerFill[] = [];
    this.placing.set(o.id, executions);
    try {
      await (permit ?? this.access.throttle(broker, account));
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
      this.deps.metrics?.orderEvent('submitted');
      this.placing.delete(o.id);
      await this.acknowledge(o, ack, { adopted: false }, executions);
    } catch (err) {
      this.placing.delete(o.id);
      // Executions taken over and not yet written must not be dropped: back to the job loop (a replay
      // is harmless). Should that fail too, the retried job adopts the order and syncs its fills.
      if (executions.length) await this.enqueueFills(executions.splice(0));
      if (err instanceof BrokerRejectedError) {
        this.deps.metrics?.orderEvent('rejected');
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
    this.deps.metrics?.orderEvent('failed');
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

  /** cancel-order: see OrderSync.cancelAtBroker. */
  cancelAtBroker(orderId: string): Promise<void> {
    return this.syncing.cancelAtBroker(orderId);
  }

  /** sync-order: see OrderSync.sync. */
  sync(orderId: string): Promise<void> {
    return this.syncing.sync(orderId);
  }

  /** apply-fill: see FillApplier. Replays are no-ops (false). */
  applyFill(orderId: string, f: BrokerFill): Promise<boolean> {
    return this.fills.apply(orderId, f);
  }

  /** End an order that will get no more fills: status, reason, hold released, events. */
  finish(orderId: string, to: 'CANCELED' | 'REJECTED' | 'EXPIRED' | 'FAILED', reason: string | null): Promise<void> {
    return this.transitions.end(orderId, to, reason);
  }

  /** The reconciler: see {@link reconcileOrders}. */
  reconcile(opts: ReconcileOptions = {}): Promise<{ requeued: number; synced: number }> {
    return reconcileOrders(this.deps, opts);
  }
}
