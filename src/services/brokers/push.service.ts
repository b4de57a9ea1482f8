import type { Logger } from '../../lib/logger.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import { isConnectable } from '../../brokers/connections/connector.js';
import { BROKER_JOB_OPTIONS, type OrderQueue } from '../../jobs/jobs.js';

/**
 * Pushes from brokers to `POST /brokers/<name>/postback` (Kite postbacks, Upstox webhooks). The adapter
 * verifies the push and names our orders in it; each gets a `sync-order` job that pulls its fills by the
 * broker's trade ids. A repeated push maps to the same job id, and fills are unique by trade id, so a
 * duplicate never doubles a fill; a lost push is found by polling.
 */
export class BrokerPushService {
  constructor(private readonly deps: { brokers: BrokerRegistry; queue: OrderQueue; logger: Logger }) {}

  /** Returns how many of our orders the push concerned; throws PushRejectedError if it does not verify. */
  async receive(broker: string, body: unknown, headers: Record<string, string | string[] | undefined>): Promise<number> {
    const adapter = this.deps.brokers.has(broker) ? this.deps.brokers.get(broker) : null;
    if (!adapter || !isConnectable(adapter) || !adapter.handlePush) return -1;
    const orders = await adapter.handlePush(body, headers);
    for (const o of orders) {
      await this.deps.queue.add(
        'sync-order',
        { orderId: o.clientOrderId },
        { jobId: `sync-${o.clientOrderId}-push-${o.status}-${o.filledQuantity}`, ...BROKER_JOB_OPTIONS },
      );
    }
    return orders.length;
  }
}
