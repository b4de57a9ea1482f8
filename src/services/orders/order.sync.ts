import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { orders } from '../../db/schema/index.js';
import { dec } from '../../lib/decimal.js';
import { BrokerAuthError, BrokerRejectedError, type BrokerFill, type BrokerOrder } from '../../brokers/broker.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import { isTerminal, type OrderStatus } from './order.state.js';
import type { OrderRow } from './order.snapshot.js';
import type { OrderTransitions } from './order.transitions.js';
import type { BrokerAccess } from './order.broker-access.js';

export interface OrderSyncDeps {
  db: Db;
  brokers: BrokerRegistry;
  access: BrokerAccess;
  transitions: OrderTransitions;
  /** The order as stored now; null if there is none. */
  load(orderId: string): Promise<OrderRow | null>;
  /** apply-fill (OrderExecutionService.applyFill): false for a replay. */
  applyFill(orderId: string, f: BrokerFill): Promise<boolean>;
  /** End an order that will get no more fills (OrderExecutionService.finish). */
  finish(orderId: string, to: 'CANCELED' | 'REJECTED' | 'EXPIRED' | 'FAILED', reason: string | null): Promise<void>;
}

/**
 * The cancel-order and sync-order jobs of the order loop: ask the broker to cancel, and bring an order
 * in line with what the broker reports (its id, the fills we lack, a terminal status).
 */
export class OrderSync {
  constructor(private readonly deps: OrderSyncDeps) {}

  /** cancel-order: ask the broker; then sync so fills that beat the cancel are applied first. */
  async cancelAtBroker(orderId: string): Promise<void> {
    const o = await this.deps.load(orderId);
    if (!o || o.status !== 'CANCEL_REQUESTED') return;
    if (!o.brokerOrderId) return; // still being submitted; the submit job cancels it after the ack
    const broker = this.deps.brokers.get(o.broker);
    const account = await this.deps.access.account(o);
    await this.deps.access.throttle(broker, account);
    try {
      await broker.cancelOrder(account, o.brokerOrderId);
    } catch (err) {
      if (err instanceof BrokerAuthError) this.deps.access.authRequired(orderId, err);
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
      if (err instanceof BrokerAuthError) this.deps.access.authRequired(orderId, err);
      throw err;
    }
  }

  private async syncOnce(orderId: string): Promise<void> {
    const o = await this.deps.load(orderId);
    if (!o || isTerminal(o.status as OrderStatus)) return;
    const broker = this.deps.brokers.get(o.broker);
    const account = await this.deps.access.account(o);
    await this.deps.access.throttle(broker, account);
    const remote = o.brokerOrderId
      ? await broker.getOrder(account, { brokerOrderId: o.brokerOrderId })
      : await broker.getOrder(account, { clientOrderId: o.id });
    if (!remote) return;
    if (!o.brokerOrderId || o.status === 'SUBMITTING') await this.acknowledgeOnly(o, remote);
    for (const f of await broker.getFills(account, remote.brokerOrderId)) await this.deps.applyFill(orderId, f);
    const after = await this.deps.load(orderId);
    if (!after || isTerminal(after.status as OrderStatus)) return;
    if (remote.status === 'CANCELED' || remote.status === 'EXPIRED' || remote.status === 'REJECTED') {
      if (dec(after.filledQuantity).gte(remote.filledQuantity)) await this.deps.finish(orderId, remote.status, remote.rejectReason ?? null);
    } else if (after.status === 'CANCEL_REQUESTED' && (remote.status === 'OPEN' || remote.status === 'PARTIALLY_FILLED')) {
      // The cancel was lost (its job died, or the broker dropped it): ask again; the result comes back
      // as an order event or on the next sync.
      await this.deps.access.throttle(broker, account);
      await broker.cancelOrder(account, remote.brokerOrderId).catch((err: unknown) => {
        if (!(err instanceof BrokerRejectedError)) throw err;
      });
    }
  }

  private async acknowledgeOnly(o: OrderRow, remote: BrokerOrder): Promise<void> {
    const moved = o.status === 'SUBMITTING' ? await this.deps.transitions.move(o, 'SUBMITTING', 'OPEN', { brokerOrderId: remote.brokerOrderId }) : null;
    // As in OrderExecutionService.acknowledge(): if a cancel moved it meanwhile, still record the broker id.
    if (!moved)
      await this.deps.db
        .update(orders)
        .set({ brokerOrderId: remote.brokerOrderId })
        .where(and(eq(orders.id, o.id), isNull(orders.brokerOrderId)));
  }
}
