import { BrokerRateLimitedError } from '../broker.js';
import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Callers of this process sleeping until a budget's next permit, per budget key. */
const waiting = new Map<string, number>();

/**
 * A broker's documented request budgets per account, taken from the shared rate limiter (Redis in the
 * scaled mode, so every worker draws from one budget). Each class of call (orders, other...) has its own
 * windows, all of which must grant. A short wait is waited out; a long one (the minute or day budget is
 * spent) throws BrokerRateLimitedError, so the job retries later instead of ever breaching the limit.
 *
 * The broker counts requests when they arrive, we count permits when they are granted; between the two
 * lies a variable delay (connection set-up, event-loop load), so a burst granted at the end of one
 * window can land inside the next. Each window is therefore widened by a margin (250 ms or 2%, whichever
 * is more): a little throughput traded for never breaching a limit that blocks the user (Fyers).
 */
export class AccountThrottle<C extends string> {
  constructor(
    private readonly deps: {
      broker: string;
      limiter: RateLimiter;
      budgets: Record<C, RateLimit[]>;
      /** Longest wait done in place (default 2 s). */
      maxWaitMs?: number;
    },
  ) {}

  async take(account: string, cls: C): Promise<void> {
    const maxWait = this.deps.maxWaitMs ?? 2_000;
    let waited = 0;
    for (const documented of this.deps.budgets[cls]) {
      const key = `brokerapi:${this.deps.broker}:${account}:${cls}:${documented.windowMs}`;
      const limit = { limit: documented.limit, windowMs: documented.windowMs + marginMs(documented.windowMs) };
      // A caller that would not wait (a poll pass) leaves the next permit to one of this process that waits
      // for it: otherwise a poll landing as the window frees takes the permit, and the waiting call (an order
      // lookup, a cancel) waits a whole window more, or gives up.
      if (maxWait === 0 && (waiting.get(key) ?? 0) > 0) throw new BrokerRateLimitedError(limit.windowMs);
      for (;;) {
        const wait = await this.deps.limiter.tryAcquire(key, limit);
        if (wait === 0) break;
        if (waited + wait > maxWait) throw new BrokerRateLimitedError(wait);
        waiting.set(key, (waiting.get(key) ?? 0) + 1);
        try {
          await sleep(wait);
        } finally {
          const left = waiting.get(key)! - 1;
          if (left > 0) waiting.set(key, left);
          else waiting.delete(key);
        }
        waited += wait;
      }
    }
  }
}

/** Slack added to a documented window: 250 ms or 2% of it, whichever is more. */
export function marginMs(windowMs: number): number {
  return Math.max(250, Math.round(windowMs * 0.02));
}
