import { and, eq } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Db, Tx } from '../../db/client.js';
import { orders } from '../../db/schema/index.js';
import type { Clock } from '../../lib/clock.js';
import { fmt, fmtAvailable } from '../../lib/decimal.js';
import { appendEvents, lockPortfolio, type NewEvent, type OutboxRelay } from '../../events/outbox.js';
import { balances, reduceHold } from '../ledger.js';
import { canTransition, IllegalTransitionError, isTerminal, type OrderStatus } from './order.state.js';
import { orderSnapshot, type OrderRow } from './order.snapshot.js';

/** Other columns to set with the move (values or SQL expressions). */
type OrderUpdate = Omit<PgUpdateSetSource<typeof orders>, 'id' | 'status'>;

/**
 * Status moves that are not fills, for both the placing and the executing side: one transaction with the
 * portfolio locked, an UPDATE guarded by the status expected, the order event, and, when the order ends
 * here, its hold released and the new balance reported.
 */
export class OrderTransitions {
  constructor(private readonly deps: { db: Db; clock: Clock; relay: Pick<OutboxRelay, 'published'> }) {}

  /** Move `o` from `from` to `to`. Null if its status was no longer `from` (someone moved it first). */
  async move(o: OrderRow, from: OrderStatus, to: OrderStatus, extra: OrderUpdate = {}): Promise<OrderRow | null> {
    if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
    const now = this.deps.clock.now();
    const res = await this.deps.db.transaction(async (tx) => {
      await lockPortfolio(tx, o.portfolioId);
      return this.write(tx, o, from, to, extra, now);
    });
    if (!res) return null;
    await this.deps.relay.published(res.events);
    return res.order;
  }

  /** End an order that will get no more fills, from whatever status it is in, if that move is legal. */
  async end(orderId: string, to: 'CANCELED' | 'REJECTED' | 'EXPIRED' | 'FAILED', reason: string | null): Promise<void> {
    const [o0] = await this.deps.db.select({ portfolioId: orders.portfolioId }).from(orders).where(eq(orders.id, orderId)).limit(1);
    if (!o0) return;
    const now = this.deps.clock.now();
    const res = await this.deps.db.transaction(async (tx) => {
      await lockPortfolio(tx, o0.portfolioId);
      const [o] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update');
      if (!canTransition(o.status as OrderStatus, to)) return null;
      return this.write(tx, o, o.status as OrderStatus, to, { rejectReason: reason }, now);
    });
    if (res) await this.deps.relay.published(res.events);
  }

  /**
   * `end` in the caller's transaction, which has locked the order's portfolio: the guarded move, hold
   * released, events appended (returned for the caller to publish after its commit). Null when the order
   * cannot make that move any more.
   */
  async endInTx(tx: Tx, orderId: string, to: 'CANCELED' | 'REJECTED' | 'EXPIRED' | 'FAILED', reason: string | null, now: Date) {
    const [o] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update');
    if (!o || !canTransition(o.status as OrderStatus, to)) return null;
    return this.write(tx, o, o.status as OrderStatus, to, { rejectReason: reason }, now);
  }

  private async write(tx: Tx, o: OrderRow, from: OrderStatus, to: OrderStatus, extra: OrderUpdate, now: Date) {
    const ending = isTerminal(to);
    const [u] = await tx
      .update(orders)
      .set({ ...extra, status: to, updatedAt: now, ...(ending ? { closedAt: now } : {}) })
      .where(and(eq(orders.id, o.id), eq(orders.status, from)))
      .returning();
    if (!u) return null;
    const events: NewEvent[] = [{ type: 'ORDER_UPDATED', payload: { order: orderSnapshot(u) } }];
    if (ending) {
      await reduceHold(tx, o.id, 'all', now);
      if (o.side === 'BUY') {
        const b = await balances(tx, o.portfolioId);
        events.push({ type: 'BALANCE_CHANGED', payload: { cash: fmt(b.cash, 2), availableCash: fmtAvailable(b.available), reason: `ORDER_${to}` } });
      }
    }
    return { order: u, events: await appendEvents(tx, o.portfolioId, events, now) };
  }
}
