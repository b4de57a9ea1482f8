import type { OrderRow } from '../orders/order.snapshot.js';
import type { RunPhase } from './basket-run.service.js';

/** Attempt counters of the job running the phase (the last attempt gives up on an unreachable broker). */
export interface PhaseAttempt {
  attemptsMade: number;
  attempts: number;
}

/**
 * The worker side of a basket run's phase (the `basket-phase` job): ONE job submits all the orders the
 * phase placed, instead of a `submit-order` job each. The orders are read in one statement and submitted
 * together (OrderExecutionService.submitMany: SUBMITTING in one transaction, one batch at a
 * batching broker, the acknowledgements and immediate fills in one transaction); then the run is moved on
 * (buys sized on what the sells raised, or the summary) if every order has ended, with one check
 * (BasketRunService.onOrderSettled: one statement for the runs of the jobs ending together).
 *
 * Delivery is at least once and every step is idempotent: a retried job (its worker died, or an order's
 * broker call failed transiently) finds the orders it moved SUBMITTING and adopts each at the broker by
 * its client order id before placing anything, skips those already acknowledged, and a run's advance
 * is guarded by its status under its row lock. Orders that rest or fill later move the run on through
 * the job loop's nudge after their own jobs, with the sweep as the safety net, as before.
 */
export class RunSubmitter {
  constructor(
    private readonly deps: {
      runs: { orderRowsOf(runId: string, phase?: RunPhase): Promise<OrderRow[]>; onOrderSettled(orderId: string): Promise<void> };
      orders: { submitMany(rows: OrderRow[], attempt: PhaseAttempt): Promise<void> };
    },
  ) {}

  async submitPhase(runId: string, phase: RunPhase, attempt: PhaseAttempt): Promise<void> {
    const rows = await this.deps.runs.orderRowsOf(runId, phase);
    if (rows.length === 0) return;
    await this.deps.orders.submitMany(rows, attempt);
    // Any order names the run: the nudges of the jobs finishing together are checked in one statement,
    // and the runs ready are advanced one batch at a time (each advance holds a connection and its
    // portfolio's lock, so dozens of run jobs must not each open one at once).
    await this.deps.runs.onOrderSettled(rows[0].id);
  }
}
