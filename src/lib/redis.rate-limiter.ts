/**
 * Rate limiter shared by every process through Redis: a sliding-window log per key, checked and updated
 * by one Lua script, so concurrent workers can never both take the last permit. Sliding rather than
 * fixed windows because brokers count over any window: with a fixed window, 10 orders at the end of one
 * second and 10 at the start of the next would be 20 within one second, over Kite's limit.
 * Contract: test/ports/rate-limiter.contract.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { RateLimit, RateLimiter } from './rate-limiter.js';
import { assertValidRateLimit } from './rate-limiter.validation.js';

/**
 * KEYS[1] sorted set of grants (score = grant time in ms); ARGV: limit, windowMs, a unique member.
 * Time comes from Redis (TIME), so processes with skewed clocks still share one window. Returns 0 when
 * the permit is granted, else the ms until the grant that frees a slot leaves the window. The key
 * expires one window after the last grant, so idle keys vanish.
 *
 * Grants that have left the window are removed only when the set is full: fewer than `limit` grants in
 * all, stale ones included, means fewer than `limit` in the window, so the permit is granted without
 * the trim (4 commands instead of 5 on that path, the common one). The answer is the same as trimming
 * first, and the set still never holds more than `limit` grants (one is added only below the limit).
 */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  count = redis.call('ZCARD', KEYS[1])
end
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local freeing = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local wait = tonumber(freeing[2]) + window - now
if wait < 1 then wait = 1 end
return wait
`;
/** KEYS[1] the block; ARGV[1] its length in ms. A block that already ends later is kept. */
const BLOCK_SCRIPT = `
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 0
`;
const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

export interface RedisRateLimiterOptions {
  /** A Redis URL (a connection is opened and closed by close()) or a connection owned by the caller. */
  connection: string | RedisOptions | Redis;
  /** Key prefix: keys are `${prefix}:ratelimit:${key}`. */
  prefix: string;
}

/** {@link RateLimiter} on Redis, shared by every process using the same Redis and prefix. */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly ownsConnection: boolean;
  private readonly prefix: string;

  constructor(opts: RedisRateLimiterOptions) {
    this.prefix = opts.prefix;
    if (opts.connection instanceof Redis) {
      this.redis = opts.connection;
      this.ownsConnection = false;
    } else {
      // Auto-pipelining: the checks of requests arriving together (every request passes the door)
      // go to Redis in one write instead of one each; each still runs as its own atomic script.
      this.redis =
        typeof opts.connection === 'string'
          ? new Redis(opts.connection, { enableAutoPipelining: true })
          : new Redis({ enableAutoPipelining: true, ...opts.connection });
      this.ownsConnection = true;
    }
  }

  async tryAcquire(key: string, limit: RateLimit): Promise<number> {
    assertValidRateLimit(limit);
    const args = [`${this.prefix}:ratelimit:${key}`, String(limit.limit), String(limit.windowMs), randomUUID()];
    let result: unknown;
    try {
      result = await this.redis.evalsha(SCRIPT_SHA, 1, ...args);
    } catch (err) {
      // First use on this Redis (or after SCRIPT FLUSH / a restart): send the script itself, which caches it.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      result = await this.redis.eval(SCRIPT, 1, ...args);
    }
    return Number(result);
  }

  /** A key with a time to live: PX, or kept if it already lives longer (GT needs Redis 7, so a script). */
  async block(key: string, ms: number): Promise<void> {
    const k = `${this.prefix}:ratelimit:block:${key}`;
    await this.redis.eval(BLOCK_SCRIPT, 1, k, String(Math.max(1, Math.ceil(ms))));
  }

  async blockedFor(key: string): Promise<number> {
    const ttl = await this.redis.pttl(`${this.prefix}:ratelimit:block:${key}`);
    return ttl > 0 ? ttl : 0;
  }

  /** Closes the connection if this limiter opened it. */
  async close(): Promise<void> {
    if (!this.ownsConnection) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
