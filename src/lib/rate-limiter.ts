/**
 * A fixed-capacity rate limit shared by every process (Redis adapter) or by one process (memory adapter).
 * Used per broker account: Kite allows 10 orders/s, IBKR 50 messages/s, Alpaca 200 requests/min.
 */
export interface RateLimit {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

export interface RateLimiter {
  /**
   * Take one permit for `key`. Returns 0 when granted, or how many ms to wait before trying again.
   */
  tryAcquire(key: string, limit: RateLimit): Promise<number>;
  /**
   * Blocks `key` for `ms` (a penalty box, such as IBKR's after a 429), seen by every process sharing the
   * limiter. A longer block already in place is kept.
   */
  block(key: string, ms: number): Promise<void>;
  /** Milliseconds `key` stays blocked (0: free). */
  blockedFor(key: string): Promise<number>;
}
