import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { ValuationService } from './valuation.service.js';

/**
 * The close-of-day valuation job: after each exchange's close (UTC times, weekdays) the leader values
 * every portfolio. Started and stopped with leadership, so one process runs it; the write is an upsert
 * per (portfolio, day), so an overlap during a leader change does no harm.
 */
export class ValuationJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly deps: { clock: Clock; logger: Logger; valuations: ValuationService; closeTimesUtc: readonly string[] },
  ) {}

  /** The next firing strictly after `now`: the earliest close time on a weekday. */
  static nextRun(now: Date, closeTimesUtc: readonly string[]): Date | null {
    if (closeTimesUtc.length === 0) return null;
    for (let d = 0; d < 8; d++) {
      const candidates = closeTimesUtc
        .map((t) => {
          const [h, m] = t.split(':').map(Number);
          return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + d, h, m));
        })
        .filter((c) => c.getTime() > now.getTime() && c.getUTCDay() !== 0 && c.getUTCDay() !== 6)
        .sort((a, b) => a.getTime() - b.getTime());
      if (candidates[0]) return candidates[0];
    }
    return null;
  }

  /** The job's one run: value every portfolio for today. */
  async runOnce(): Promise<number> {
    return this.deps.valuations.valueAll();
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    const next = ValuationJob.nextRun(this.deps.clock.now(), this.deps.closeTimesUtc);
    if (!next) return;
    const delay = Math.max(0, next.getTime() - this.deps.clock.now().getTime());
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.deps.logger.error({ err }, 'daily valuation failed'))
        .finally(() => this.schedule());
    }, Math.min(delay, 2 ** 31 - 1));
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
