import type { BrokerEvent } from '../broker.js';

/**
 * Which broker events were told already, so a fill or an ending that a stream, a poll and a read each
 * report goes out once: a fill by its broker fill id, an ending by its order and status, per account.
 * The record is cleared past 200,000 keys; a replay after a clear is harmless (fills are idempotent
 * downstream).
 */
export class OnceEvents {
  private readonly told = new Set<string>();

  /** True the first time `e` is seen (it is recorded); false for a repeat. */
  first(e: BrokerEvent): boolean {
    const key = e.kind === 'fill' ? `${e.account}|fill|${e.fill.brokerFillId}` : `${e.account}|end|${e.order.brokerOrderId}|${e.order.status}`;
    if (this.told.has(key)) return false;
    this.told.add(key);
    if (this.told.size > 200_000) this.told.clear();
    return true;
  }
}
