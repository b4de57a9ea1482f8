/**
 * In-process rate limiter of the embedded mode: a sliding-window log per key, the same algorithm as the
 * Redis adapter (redis.rate-limiter.ts). Contract: test/ports/rate-limiter.contract.ts.
 */
import { systemClock, type Clock } from './clock.js';
import type { RateLimit, RateLimiter } from './rate-limiter.js';
import { assertValidRateLimit } from './rate-limiter.validation.js';

/** {@link RateLimiter} for one process. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly clock: Clock;
  /** Grant times per key, oldest first. */
  private readonly grants = new Map<string, { times: number[]; windowMs: number }>();
  private callsSinceSweep = 0;
  /** Blocked keys and when each block ends (ms). */
  private readonly blocks = new Map<string, number>();

  constructor(opts: { clock?: Clock } = {}) {
    this.clock = opts.clock ?? systemClock;
  }

  async tryAcquire(key: string, limit: RateLimit): Promise<number> {
    assertValidRateLimit(limit);
    const now = this.clock.now().getTime();
    this.maybeSweep(now);
    let entry = this.grants.get(key);
    if (!entry) {
      entry = { times: [], windowMs: limit.windowMs };
      this.grants.set(key, entry);
    }
    entry.windowMs = limit.windowMs;
    const times = entry.times;
    // A grant at time t counts until t + windowMs (exclusive), as in the Redis script.
    while (times.length > 0 && (times[0] as number) <= now - limit.windowMs) times.shift();
    if (times.length < limit.limit) {
      times.push(now);
      return 0;
    }
    // Full: wait until the oldest grant in the window expires (the oldest that would make room).
    const oldest = times[times.length - limit.limit] as number;
    return Math.max(1, oldest + limit.windowMs - now);
  }

  async block(key: string, ms: number): Promise<void> {
    const until = this.clock.now().getTime() + ms;
    this.blocks.set(key, Math.max(until, this.blocks.get(key) ?? 0));
  }

  async blockedFor(key: string): Promise<number> {
    const until = this.blocks.get(key);
    if (until === undefined) return 0;
    const left = until - this.clock.now().getTime();
    if (left > 0) return left;
    this.blocks.delete(key);
    return 0;
  }

  /** Nothing to release; here so both adapters close alike. */
  async close(): Promise<void> {
    this.grants.clear();
    this.blocks.clear();
  }

  /** Forgets idle keys now and then, so a limiter keyed by many accounts does not grow forever. */
  private maybeSweep(now: number): void {
    this.callsSinceSweep += 1;
    if (this.callsSinceSweep < 1000) return;
    this.callsSinceSweep = 0;
    for (const [key, { times, windowMs }] of this.grants) {
      const last = times[times.length - 1];
      if (last === undefined || last <= now - windowMs) this.grants.delete(key);
    }
  }
}
