/**
 * Helpers shared by the port contract tests: waiting on conditions, and the Redis mode switch.
 * Tests may read the environment here (src/ may not).
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';

/** REDIS_URL when set: the Redis adapters run against it (CI always sets it for its second run). */
export const REDIS_URL = process.env.REDIS_URL;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` every 20 ms until true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * A test that fails when REQUIRE_SERVICES=1 and REDIS_URL is missing, so a CI run meant to cover Redis
 * can never pass by skipping it. Call at the top level of a test file.
 */
export function requireRedisWhenServicesRequired(): void {
  if (process.env.REQUIRE_SERVICES === '1' && !REDIS_URL) {
    it('has REDIS_URL, because REQUIRE_SERVICES=1', () => {
      expect.fail('REQUIRE_SERVICES=1 but REDIS_URL is not set: the Redis adapters would not be tested');
    });
  }
}

/**
 * Connects to REDIS_URL and pings it, failing fast (not retrying forever) when Redis is unreachable, so
 * a set but dead REDIS_URL fails the suite instead of hanging or skipping it.
 */
export async function connectTestRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 3_000, retryStrategy: () => null, lazyConnect: true });
  let cause: unknown;
  redis.on('error', (err) => (cause = err)); // the socket error (ECONNREFUSED...) is more telling than connect()'s
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(`REDIS_URL is set (${url}) but Redis is unreachable: ${String(cause ?? err)}`);
  }
  return redis;
}

/** Deletes every key under `prefix:` (SCAN, not KEYS, to stay polite on a shared Redis). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
