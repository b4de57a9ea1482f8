import type { OrderQueue } from '../../jobs/jobs.js';

/**
 * The `pooled-window` job runs every POOLED_TICK_MS only while at least one pooled account exists: with
 * none there is no window to close and no parent to sweep, and a scheduler firing four times a second for
 * nothing was a third of an idle worker's CPU (BullMQ scripts to fetch and finish each run, a marker
 * waking every worker, two statements). Creating an account schedules it (after the account commits);
 * every worker start removes it when there are none.
 *
 * The removal cannot lose a schedule an account needs: an account that committed before the second look
 * is seen by it, and one that commits after the removal schedules the job itself afterwards.
 */
export class PooledWindowSchedule {
  constructor(private readonly deps: { queue: Pick<OrderQueue, 'repeat' | 'unrepeat'>; tickMs: number; anyAccount: () => Promise<boolean> }) {}

  /** After an account has committed: the windows tick from now on (idempotent). */
  accountCreated(): Promise<void> {
    return this.deps.queue.repeat('pooled-window', {}, { everyMs: this.deps.tickMs });
  }

  /** At a worker's start: schedule the tick if any account exists, else remove it. Returns whether it runs. */
  async sync(): Promise<boolean> {
    if (await this.deps.anyAccount()) {
      await this.accountCreated();
      return true;
    }
    await this.deps.queue.unrepeat('pooled-window');
    // An account may have committed (and scheduled the job) between the first look and the removal.
    if (!(await this.deps.anyAccount())) return false;
    await this.accountCreated();
    return true;
  }
}
