import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { OutboxRelay } from '../../events/outbox.js';
import { BROKER_JOB_OPTIONS, type OrderQueue } from '../../jobs/jobs.js';
import { placeOrdersInTx, PlacementConflictError, type PlacementResult, type PreparedOrder } from './order.placement.js';

interface Waiter {
  input: PreparedOrder;
  resolve: (r: PlacementResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit of placements. Orders that arrive while earlier ones are committing wait, and go
 * together in the next transaction (one multi-row insert each of orders, holds and outbox rows), then
 * their events are published and their `submit-order` jobs added in one BullMQ `addBulk`. Under light
 * load an order commits alone, at once; under heavy load the batches grow, and the cost per order falls.
 * A batch that fails as a whole (a lost race for a client order id, a deadlock) is retried one order per
 * transaction, so one input never fails another.
 */
export class PlacementBatcher {
  private pending: Waiter[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly deps: { db: Db; clock: Clock; logger: Logger; queue: OrderQueue; relay: OutboxRelay },
    private readonly opts: { maxBatch: number; maxInFlight: number } = { maxBatch: 64, maxInFlight: 2 },
  ) {}

  place(input: PreparedOrder): Promise<PlacementResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.pending.length === 0) return;
    this.scheduled = true;
    // Requests that arrived in this turn of the event loop join the same batch.
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.opts.maxInFlight && this.pending.length > 0) {
        const batch = this.pending.splice(0, this.opts.maxBatch);
        this.inFlight++;
        void this.commit(batch).finally(() => {
          this.inFlight--;
          this.schedule();
        });
      }
    });
  }

  private async commit(batch: Waiter[]): Promise<void> {
    let results: PlacementResult[];
    try {
      results = await this.inOneTransaction(batch.map((w) => w.input));
    } catch (err) {
      if (batch.length === 1) {
        if (err instanceof PlacementConflictError) batch[0].resolve({ kind: 'duplicate' });
        else batch[0].reject(err);
        return;
      }
      this.deps.logger.debug({ err, size: batch.length }, 'placement batch failed as a whole; placing its orders one by one');
      await Promise.all(batch.map((w) => this.commit([w])));
      return;
    }
    await this.afterCommit(results);
    batch.forEach((w, i) => w.resolve(results[i]));
  }

  private inOneTransaction(inputs: PreparedOrder[]): Promise<PlacementResult[]> {
    const now = this.deps.clock.now();
    return this.deps.db.transaction((tx) => placeOrdersInTx(tx, inputs, now));
  }

  /** Publish the events and add the submit jobs of what was placed. */
  private async afterCommit(results: PlacementResult[]): Promise<void> {
    const placed = results.flatMap((r) => (r.kind === 'placed' ? [r] : []));
    if (placed.length === 0) return;
    await this.deps.relay.published(placed.flatMap((r) => r.events));
    try {
      await this.deps.queue.addBulk(placed.map((r) => ({ name: 'submit-order' as const, data: { orderId: r.order.id }, opts: { jobId: r.order.id, ...BROKER_JOB_OPTIONS } })));
    } catch (err) {
      // The orders are committed: the reconciler re-enqueues PENDING orders whose job was lost.
      this.deps.logger.error({ err, orders: placed.length }, 'could not enqueue submit-order jobs; the reconciler will');
    }
  }
}
