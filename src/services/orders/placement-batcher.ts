import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { OutboxRelay } from '../../events/outbox.js';
import { GroupCommit, ORDER_LOOP_BATCHING } from '../../lib/group-commit.js';
import { BROKER_JOB_OPTIONS, type OrderQueue } from '../../jobs/jobs.js';
import type { AuditPort } from '../people/audit.service.js';
import { placeOrdersInTx, PlacementConflictError, type PlacementResult, type PreparedOrder } from './order.placement.js';

/** A committed placement and the announcement of its batch (settles once events and jobs are out). */
interface Committed {
  result: PlacementResult;
  announced: Promise<void>;
}

const NOTHING: Promise<void> = Promise.resolve();

/**
 * Group commit of placements. Orders that arrive while earlier ones are committing wait, and go
 * together in the next transaction (one multi-row insert each of orders, holds and outbox rows), then
 * their events are published and ONE `submit-orders` job is added for them (`submit-order` for an order alone). Under light
 * load an order commits alone, at once; under heavy load the batches grow, and the cost per order falls.
 * A batch that fails as a whole (a lost race for a client order id, a deadlock) is retried one order per
 * transaction, so one input never fails another.
 */
export class PlacementBatcher {
  private readonly group: GroupCommit<PreparedOrder, Committed>;

  constructor(
    private readonly deps: { db: Db; clock: Clock; logger: Logger; queue: OrderQueue; relay: OutboxRelay; audit?: AuditPort },
    opts: { maxBatch: number; maxInFlight: number } = ORDER_LOOP_BATCHING,
  ) {
    this.group = new GroupCommit((inputs) => this.commit(inputs), opts);
  }

  /** Resolves once the order is committed and announced (events published, submit job added). */
  async place(input: PreparedOrder): Promise<PlacementResult> {
    const c = await this.group.push(input);
    await c.announced;
    return c.result;
  }

  /**
   * One batch's transaction. Its announcement runs outside the batch's slot: the next batch's
   * transaction starts as soon as this one has committed, not after the Redis round trips that follow.
   */
  private async commit(inputs: PreparedOrder[]): Promise<Committed[]> {
    let results: PlacementResult[];
    try {
      results = await this.inOneTransaction(inputs);
    } catch (err) {
      if (inputs.length === 1) {
        if (err instanceof PlacementConflictError) return [{ result: { kind: 'duplicate' }, announced: NOTHING }];
        throw err;
      }
      this.deps.logger.debug({ err, size: inputs.length }, 'placement batch failed as a whole; placing its orders one by one');
      const one = await Promise.allSettled(inputs.map((i) => this.commit([i])));
      return one.map((r) => (r.status === 'fulfilled' ? r.value[0] : { result: { kind: 'refused', error: r.reason as Error }, announced: NOTHING }));
    }
    const announced = this.announce(results);
    return results.map((result) => ({ result, announced }));
  }

  private inOneTransaction(inputs: PreparedOrder[]): Promise<PlacementResult[]> {
    const now = this.deps.clock.now();
    // Audit entries of the inputs that carry one go in the same transaction (AuditPort.inTx).
    return this.deps.db.transaction((tx) => placeOrdersInTx(tx, inputs, now, this.deps.audit));
  }

  /**
   * After the commit: publish the events and add the submit job of what was placed, both at
   * once: the job does not wait for a publish round trip (the worker's first event about an order is
   * published after its own transaction, well after this publish was sent; a late one is held in order by
   * the subscriber's stream anyway).
   */
  async announce(results: PlacementResult[]): Promise<void> {
    const placed = results.flatMap((r) => (r.kind === 'placed' ? [r] : []));
    if (placed.length === 0) return;
    const enqueue = async () => {
      try {
        // One order: its own submit-order job (job id = order id). A batch: ONE submit-orders job for all of
        // them, so a job's Redis work (add, fetch, lock, completion: ≈ 40 commands with the scripts' inner
        // calls) is paid once per batch, not once per order.
        if (placed.length === 1) await this.deps.queue.add('submit-order', { orderId: placed[0].order.id }, { jobId: placed[0].order.id, ...BROKER_JOB_OPTIONS });
        else await this.deps.queue.add('submit-orders', { orderIds: placed.map((r) => r.order.id) }, { jobId: `submit-batch-${placed[0].order.id}`, ...BROKER_JOB_OPTIONS });
      } catch (err) {
        // The orders are committed: the reconciler re-enqueues PENDING orders whose job was lost.
        this.deps.logger.error({ err, orders: placed.length }, 'could not enqueue the submit job; the reconciler will');
      }
    };
    await Promise.all([this.deps.relay.published(placed.flatMap((r) => r.events)), enqueue()]);
  }
}
