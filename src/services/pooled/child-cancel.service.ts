import { and, eq, ne, notInArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { orders, pooledChildren, pooledParentOrders, pooledParentReductions } from '../../db/schema/index.js';
import { InvalidOrderStateError, PooledCancelRefusedError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { dec, toDb } from '../../lib/decimal.js';
import { BrokerRejectedError, type BrokerAdapter, type BrokerOrder } from '../../brokers/broker.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import { lockPortfolio, type OutboxRelay, type StoredEvent } from '../../events/outbox.js';
import { OrderTransitions } from '../orders/order.transitions.js';
import { isTerminal, TERMINAL_STATUSES, type OrderStatus } from '../orders/order.state.js';
import type { OrderRow } from '../orders/order.snapshot.js';
import { planChildCancel } from './child-cancel.rules.js';
import type { ParentOrderRow, PooledRepository } from './pooled.repository.js';
import type { ParentDriver } from './parent-driver.service.js';

type ReductionRow = typeof pooledParentReductions.$inferSelect;

/** A REQUESTED reduction this old is a dead process's: the parent's next drive resolves it. */
export const STALE_REDUCTION_MS = 5_000;
export const CANCELED_REASON = 'canceled by its owner after its window closed; the pooled parent was reduced by its unfilled share';
export const PARENT_CANCELED_REASON = 'canceled by its owner after its window closed; its pooled parent, which it was the last to need, was canceled at the broker';
const ENDED_AT_BROKER = new Set(['CANCELED', 'EXPIRED', 'REJECTED']);

/**
 * A member's cancel after its window closed: the parent is reduced at the broker by the child's unfilled
 * share (BrokerAdapter.reduceOrder), then the child ends CANCELED with what it was already allocated.
 * Rules in child-cancel.rules.ts. Three steps, each safe to repeat:
 *
 * 1. intent: with the parent locked, the rules are checked and a REQUESTED reduction row is written.
 *    From then until step 3 the parent's fills are not allocated (ParentDriver.allocateFill defers them;
 *    they stay at the broker and the next drive picks them up), so no fill is split on a set of children
 *    that is changing, and the child's unfilled share cannot shrink under the reduce.
 * 2. the broker reduces the parent to an absolute quantity (`toQuantity`), so sending it twice is harmless.
 * 3. outcome, in ONE transaction: the parent's new quantity, the child CANCELED (hold released, the
 *    events a direct order's cancel emits), the reduction DONE. A refusal deletes the row and changes
 *    nothing (PooledCancelRefusedError, INVALID_ORDER_STATE).
 *
 * A process killed between 2 and 3 leaves the row REQUESTED: the parent's next drive (its broker events,
 * the window job's sweep) reads the parent at the broker: at `toQuantity`, the reduce happened and step 3
 * is recorded; still at `fromQuantity`, it is sent again (or refused if the broker no longer can).
 *
 * The last child of its side with anything unfilled cancels the whole parent instead (kind CANCEL, any
 * broker): 1 the same intent row; 2 `cancelOrder` at the broker; 3 the row DONE once the broker has
 * ended the parent (a guarded update: the one record of the cancel); then the parent's drive, as for
 * any parent the broker ended: its last fills allocated (all to this child, the only one left on its
 * side), the parent CANCELED, the crossed part at the parent's average price, the child ended CANCELED
 * (PARENT_CANCELED_REASON). A dead process's REQUESTED CANCEL is settled the same way from the broker's
 * view: parent ended (CANCELED, EXPIRED, REJECTED) → DONE; FILLED → the cancel lost the race, the row is
 * dropped and the child fills; still open → the cancel is sent again. A DONE row whose drive did not
 * finish is finished by the window job's sweep of stalled parents.
 */
export class ChildCancelService {
  private readonly transitions: OrderTransitions;
  /** The reason a child that canceled its whole parent ends with (ParentDriver's settle writes it). */
  readonly ownerReason = PARENT_CANCELED_REASON;

  constructor(
    private readonly deps: { db: Db; clock: Clock; logger: Logger; relay: OutboxRelay; brokers: BrokerRegistry; repo: PooledRepository; driver: ParentDriver },
  ) {
    this.transitions = new OrderTransitions(deps);
  }

  /**
   * Cancel `o` if a window's parent has claimed it. Null when it is not such a child (the order loop's
   * own cancel applies: a PENDING member order never reached the broker and is canceled at once).
   */
  async cancel(o: OrderRow): Promise<OrderRow | null> {
    if (o.status === 'PENDING' || isTerminal(o.status as OrderStatus)) return null;
    const parent = await this.deps.repo.parentOfChild(o.id);
    if (!parent) return null;
    const { broker, account } = await this.brokerOf(parent);
    let intent: ReductionRow | null = null;
    for (let attempt = 0; attempt < 3 && !intent; attempt++) {
      const r = await this.begin(o.id, parent.id, broker);
      if ('row' in r) intent = r.row;
      else await this.resolve(r.busy); // another child's reduce of this parent first (one at a time)
    }
    if (!intent) throw new PooledCancelRefusedError(o.status, 'PARENT_NOT_OPEN', 'its pooled parent is being changed; try again');
    if (intent.kind === 'CANCEL') return this.cancelParent(o, intent, broker, account, parent.brokerOrderId!);
    let reduced = false;
    try {
      await this.deps.driver.throttle(broker, account);
      await broker.reduceOrder!(account, parent.brokerOrderId!, intent.toQuantity);
      reduced = true;
    } catch (err) {
      if (err instanceof BrokerRejectedError) {
        await this.abandon(intent);
        throw new PooledCancelRefusedError(o.status, 'BROKER_REFUSED', `the broker refused to reduce its pooled parent (${err.reason})`);
      }
      // Outcome unknown (lost response, timeout): ask the broker what the parent's quantity is now.
      const outcome = await this.resolve(intent).catch(() => 'unknown' as const);
      if (outcome === 'refused') throw new PooledCancelRefusedError(o.status, 'BROKER_REFUSED', 'the broker did not reduce its pooled parent');
      if (outcome === 'unknown') throw err; // the row stays REQUESTED: the parent's next drive settles it
    }
    if (reduced) await this.complete(intent);
    return this.child(o.id);
  }

  /**
   * The last child of its side cancels the whole parent at the broker (steps in the class comment), then
   * drives the parent so the answer shows the child ended. The broker's refusal because the parent
   * filled meanwhile is a cancel that came too late: the child ends FILLED, INVALID_ORDER_STATE.
   */
  private async cancelParent(o: OrderRow, intent: ReductionRow, broker: BrokerAdapter, account: string, brokerOrderId: string): Promise<OrderRow> {
    let outcome: 'done' | 'refused' | 'unknown' = 'unknown';
    if (intent.status === 'DONE') outcome = 'done'; // canceled at the broker already; the drive is what remains
    else {
      try {
        await this.deps.driver.throttle(broker, account);
        await broker.cancelOrder(account, brokerOrderId);
        outcome = (await this.canceled(intent)) ? 'done' : 'unknown';
      } catch (err) {
        // Refused (ended already?) or outcome unknown (lost response): the broker's view decides. After
        // a refusal the cancel is not sent again: the parent is either ended or the broker will not.
        outcome = await this.resolve(intent, err instanceof BrokerRejectedError ? 'no-resend' : 'resend').catch(() => 'unknown' as const);
        if (outcome === 'unknown') throw err; // the row stays REQUESTED: the parent's next drive settles it
      }
    }
    await this.deps.driver.drive(intent.parentId).catch((err: unknown) => this.deps.logger.warn({ err, parentId: intent.parentId }, 'pooled parent not driven yet; the sweep retries'));
    const after = await this.child(o.id);
    if (outcome === 'refused') {
      if (after.status === 'FILLED') throw new InvalidOrderStateError(after.status, 'cancel');
      throw new PooledCancelRefusedError(after.status, 'BROKER_REFUSED', 'the broker did not cancel its pooled parent');
    }
    return after;
  }

  private async child(id: string): Promise<OrderRow> {
    const [after] = await this.deps.db.select().from(orders).where(eq(orders.id, id));
    return after;
  }

  /**
   * ParentDriver's hook before each drive: resolves the parent's stale reductions; true while one is
   * still in flight (the live request will drive the parent when it ends).
   */
  async holdDrive(parentId: string): Promise<boolean> {
    const rows = await this.deps.db.select().from(pooledParentReductions).where(and(eq(pooledParentReductions.parentId, parentId), eq(pooledParentReductions.status, 'REQUESTED')));
    if (rows.length === 0) return false;
    const staleBefore = this.deps.clock.now().getTime() - STALE_REDUCTION_MS;
    let held = false;
    for (const r of rows) {
      if (r.createdAt.getTime() > staleBefore) {
        held = true;
        continue;
      }
      const outcome = await this.resolve(r).catch((err: unknown) => {
        this.deps.logger.warn({ err, parentId, childOrderId: r.childOrderId }, 'pooled reduction not resolved yet');
        return 'unknown' as const;
      });
      if (outcome === 'unknown') held = true;
    }
    return held;
  }

  /** Whether the parent has a reduction in flight, in the caller's transaction (which has locked the parent). */
  async inFlight(tx: Tx, parentId: string): Promise<boolean> {
    const [r] = await tx
      .select({ id: pooledParentReductions.childOrderId })
      .from(pooledParentReductions)
      .where(and(eq(pooledParentReductions.parentId, parentId), eq(pooledParentReductions.status, 'REQUESTED')))
      .limit(1);
    return r !== undefined;
  }

  private async brokerOf(parent: ParentOrderRow): Promise<{ broker: BrokerAdapter; account: string }> {
    const account = await this.deps.repo.account(parent.pooledAccountId);
    if (!account) throw new Error(`pooled account ${parent.pooledAccountId} of parent ${parent.id} is gone`);
    return { broker: this.deps.brokers.get(account.broker), account: account.brokerConnectionId ?? account.id };
  }

  /**
   * Step 1: with the parent locked, check the rules and record the intent (or find it recorded: a retry
   * resumes it, a DONE CANCEL too, whose parent's drive may not have finished).
   */
  private async begin(childId: string, parentId: string, broker: BrokerAdapter): Promise<{ row: ReductionRow } | { busy: ReductionRow }> {
    const now = this.deps.clock.now();
    return this.deps.db.transaction(async (tx) => {
      const [p] = await tx.select().from(pooledParentOrders).where(eq(pooledParentOrders.id, parentId)).for('update');
      const open = await tx.select().from(pooledParentReductions).where(and(eq(pooledParentReductions.parentId, parentId), eq(pooledParentReductions.status, 'REQUESTED')));
      const mine = open.find((r) => r.childOrderId === childId);
      if (mine) return { row: mine }; // a cancel of this child already under way (a retry): resume it
      if (open.length) return { busy: open[0] };
      const [k] = await tx.select().from(orders).where(eq(orders.id, childId));
      if (isTerminal(k.status as OrderStatus)) throw new PooledCancelRefusedError(k.status, 'NOTHING_UNFILLED', 'it has ended');
      const [prior] = await tx.select().from(pooledParentReductions).where(eq(pooledParentReductions.childOrderId, childId));
      if (prior?.kind === 'CANCEL') return { row: prior };
      const [others] = await tx
        .select({ remaining: sql<string>`coalesce(sum(${orders.quantity} - ${orders.filledQuantity}), 0)::text` })
        .from(pooledChildren)
        .innerJoin(orders, eq(orders.id, pooledChildren.orderId))
        .where(and(eq(pooledChildren.parentId, parentId), eq(orders.side, p.side), ne(orders.id, childId), notInArray(orders.status, [...TERMINAL_STATUSES])));
      const plan = planChildCancel(p, k, others.remaining);
      if (!plan.ok) throw new PooledCancelRefusedError(k.status, plan.reason, plan.why);
      if (plan.kind === 'REDUCE' && !broker.reduceOrder) {
        throw new PooledCancelRefusedError(k.status, 'BROKER_CANNOT_REDUCE', `the ${broker.name} broker cannot reduce an open order, so its pooled parent stays as sent`);
      }
      const [row] = await tx
        .insert(pooledParentReductions)
        .values({ childOrderId: childId, parentId, kind: plan.kind, quantity: toDb(plan.share), fromQuantity: toDb(plan.fromQuantity), toQuantity: toDb(plan.toQuantity), createdAt: now, updatedAt: now })
        .returning();
      return { row };
    });
  }

  /** Step 3: the broker reduced the parent: record it, end the child, in ONE transaction; then drive the parent. */
  private async complete(r: ReductionRow): Promise<void> {
    const now = this.deps.clock.now();
    const [k0] = await this.deps.db.select({ portfolioId: orders.portfolioId }).from(orders).where(eq(orders.id, r.childOrderId));
    const events = await this.deps.db.transaction(async (tx): Promise<StoredEvent[]> => {
      // Parent first, then the member's portfolio: the order allocation takes them in.
      await tx.select({ id: pooledParentOrders.id }).from(pooledParentOrders).where(eq(pooledParentOrders.id, r.parentId)).for('update');
      const [row] = await tx.select().from(pooledParentReductions).where(eq(pooledParentReductions.childOrderId, r.childOrderId)).for('update');
      if (!row || row.status !== 'REQUESTED') return []; // recorded already (by a concurrent resolve)
      await tx.update(pooledParentOrders).set({ quantity: row.toQuantity, updatedAt: now }).where(and(eq(pooledParentOrders.id, r.parentId), eq(pooledParentOrders.quantity, row.fromQuantity)));
      await lockPortfolio(tx, k0.portfolioId);
      const ended = await this.transitions.endInTx(tx, r.childOrderId, 'CANCELED', CANCELED_REASON, now);
      await tx.update(pooledParentReductions).set({ status: 'DONE', updatedAt: now }).where(eq(pooledParentReductions.childOrderId, r.childOrderId));
      return ended?.events ?? [];
    });
    await this.deps.relay.published(events);
    this.driveLater(r.parentId);
  }

  /** A refused reduce: forget the intent (the child is as it was), then let the deferred fills through. */
  private async abandon(r: ReductionRow): Promise<void> {
    await this.deps.db.delete(pooledParentReductions).where(and(eq(pooledParentReductions.childOrderId, r.childOrderId), eq(pooledParentReductions.status, 'REQUESTED')));
    this.driveLater(r.parentId);
  }

  /** Step 3 of a CANCEL: the broker has ended the parent; recorded once (guarded). Then drive the parent. */
  private async canceled(r: ReductionRow): Promise<boolean> {
    await this.deps.db
      .update(pooledParentReductions)
      .set({ status: 'DONE', updatedAt: this.deps.clock.now() })
      .where(and(eq(pooledParentReductions.childOrderId, r.childOrderId), eq(pooledParentReductions.status, 'REQUESTED')));
    this.driveLater(r.parentId);
    return true;
  }

  /** The child a DONE CANCEL of this parent belongs to: ParentDriver ends it with the owner's reason. */
  async canceledBy(parentId: string): Promise<string | null> {
    const [r] = await this.deps.db
      .select({ id: pooledParentReductions.childOrderId })
      .from(pooledParentReductions)
      .where(and(eq(pooledParentReductions.parentId, parentId), eq(pooledParentReductions.kind, 'CANCEL'), eq(pooledParentReductions.status, 'DONE')));
    return r?.id ?? null;
  }

  /**
   * Settle a REQUESTED reduction from the broker's view of the parent: at `toQuantity` it was reduced
   * (record it); at `fromQuantity` it was not (send it again while the broker still can, else refuse).
   */
  private async resolve(r: ReductionRow, cancel: 'resend' | 'no-resend' = 'resend'): Promise<'done' | 'refused' | 'unknown'> {
    const parent = await this.deps.repo.parent(r.parentId);
    if (!parent?.brokerOrderId) return 'unknown';
    const { broker, account } = await this.brokerOf(parent);
    await this.deps.driver.throttle(broker, account);
    const remote = await broker.getOrder(account, { brokerOrderId: parent.brokerOrderId });
    if (!remote) return 'unknown';
    if (r.kind === 'CANCEL') return this.resolveCancel(r, remote, broker, account, cancel);
    if (dec(remote.quantity).eq(r.toQuantity)) {
      await this.complete(r);
      return 'done';
    }
    if (!dec(remote.quantity).eq(r.fromQuantity)) return 'unknown';
    const canStill = (remote.status === 'OPEN' || remote.status === 'PARTIALLY_FILLED') && dec(remote.filledQuantity).lt(r.toQuantity) && broker.reduceOrder;
    if (canStill) {
      try {
        await this.deps.driver.throttle(broker, account);
        await broker.reduceOrder!(account, parent.brokerOrderId, r.toQuantity);
        await this.complete(r);
        return 'done';
      } catch (err) {
        if (!(err instanceof BrokerRejectedError)) throw err;
      }
    }
    await this.abandon(r);
    return 'refused';
  }

  /**
   * A REQUESTED CANCEL, from the broker's view: ended → recorded; FILLED → too late, dropped (the child
   * fills); still open → sent again (a dead process's intent), unless the broker has just refused it.
   */
  private async resolveCancel(r: ReductionRow, remote: BrokerOrder, broker: BrokerAdapter, account: string, cancel: 'resend' | 'no-resend'): Promise<'done' | 'refused' | 'unknown'> {
    if (ENDED_AT_BROKER.has(remote.status)) return (await this.canceled(r)) ? 'done' : 'unknown';
    if (remote.status !== 'FILLED' && cancel === 'resend') {
      try {
        await this.deps.driver.throttle(broker, account);
        await broker.cancelOrder(account, remote.brokerOrderId);
        return (await this.canceled(r)) ? 'done' : 'unknown';
      } catch (err) {
        if (!(err instanceof BrokerRejectedError)) throw err;
        await this.deps.driver.throttle(broker, account);
        const again = await broker.getOrder(account, { brokerOrderId: remote.brokerOrderId });
        return again ? this.resolveCancel(r, again, broker, account, 'no-resend') : 'unknown';
      }
    }
    await this.abandon(r);
    return 'refused';
  }

  private driveLater(parentId: string): void {
    void this.deps.driver.drive(parentId).catch((err: unknown) => this.deps.logger.warn({ err, parentId }, 'pooled parent not driven yet; the sweep retries'));
  }
}
