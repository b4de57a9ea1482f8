import { BrokerRateLimitedError } from '../broker.js';
import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A broker's documented request budgets per account, taken from the shared rate limiter (Redis in the
 * scaled mode, so every worker draws from one budget). Each class of call (orders, other...) has its own
 * windows, all of which must grant. A short wait is waited out; a long one (the minute or day budget is
 * spent) throws BrokerRateLimitedError, so the job retries later instead of ever breaching the limit.
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
    for (const limit of this.deps.budgets[cls]) {
      const key = `brokerapi:${this.deps.broker}:${account}:${cls}:${limit.windowMs}`;
      for (;;) {
        const wait = await this.deps.limiter.tryAcquire(key, limit);
        if (wait === 0) break;
        if (waited + wait > maxWait) throw new BrokerRateLimitedError(wait);
        await sleep(wait);
        waited += wait;
      }
    }
  }
}
