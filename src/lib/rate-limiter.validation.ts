import type { RateLimit } from './rate-limiter.js';

/** Throws a RangeError unless `limit` is a positive integer and `windowMs` a positive integer of ms. */
export function assertValidRateLimit({ limit, windowMs }: RateLimit): void {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`rate limit must be an integer >= 1, got ${limit}`);
  if (!Number.isInteger(windowMs) || windowMs < 1) throw new RangeError(`rate limit window must be an integer >= 1 ms, got ${windowMs}`);
}
