/**
 * The RateLimiter contract: every adapter (in process, Redis) must pass these same tests.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/lib/rate-limiter.js';
import { sleep } from './helpers.js';

export interface RateLimiterHarness {
  /** A new limiter. Instances share budgets when `distributed` (two workers on one Redis). */
  create(): RateLimiter & { close(): Promise<void> };
  distributed: boolean;
}

export function rateLimiterContract(label: string, harness: RateLimiterHarness): void {
  describe(`RateLimiter contract: ${label}`, () => {
    const opened: { close(): Promise<void> }[] = [];
    function open(): RateLimiter {
      const limiter = harness.create();
      opened.push(limiter);
      return limiter;
    }
    const account = (): string => `broker-account-${randomUUID()}`;

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((l) => l.close()));
    });

    it('grants `limit` permits in a window, then answers with a positive wait no longer than the window', async () => {
      const limiter = open();
      const key = account();
      const results: number[] = [];
      for (let i = 0; i < 6; i += 1) results.push(await limiter.tryAcquire(key, { limit: 5, windowMs: 1_000 }));
      expect(results.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
      expect(results[5]).toBeGreaterThan(0);
      expect(results[5]).toBeLessThanOrEqual(1_000);
    });

    it('gives permits back once the window has passed, after the wait it announced', async () => {
      const limiter = open();
      const key = account();
      const limit = { limit: 3, windowMs: 300 };
      for (let i = 0; i < 3; i += 1) expect(await limiter.tryAcquire(key, limit)).toBe(0);
      const wait = await limiter.tryAcquire(key, limit);
      expect(wait).toBeGreaterThan(0);
      await sleep(wait + 25);
      expect(await limiter.tryAcquire(key, limit)).toBe(0);
    });

    it('slides the window: a permit comes back when the oldest grant ages out, not all at once', async () => {
      const limiter = open();
      const key = account();
      const limit = { limit: 3, windowMs: 600 };
      expect(await limiter.tryAcquire(key, limit)).toBe(0);
      await sleep(300);
      expect(await limiter.tryAcquire(key, limit)).toBe(0);
      expect(await limiter.tryAcquire(key, limit)).toBe(0);
      const wait = await limiter.tryAcquire(key, limit);
      // The first grant leaves the window ~300 ms from now; the two later ones ~600 ms from now.
      expect(wait).toBeGreaterThan(150);
      expect(wait).toBeLessThanOrEqual(320);
      await sleep(wait + 25);
      expect(await limiter.tryAcquire(key, limit)).toBe(0);
      expect(await limiter.tryAcquire(key, limit)).toBeGreaterThan(0);
    });

    it('keeps keys independent', async () => {
      const limiter = open();
      const busy = account();
      const idle = account();
      const limit = { limit: 2, windowMs: 5_000 };
      await limiter.tryAcquire(busy, limit);
      await limiter.tryAcquire(busy, limit);
      expect(await limiter.tryAcquire(busy, limit)).toBeGreaterThan(0);
      expect(await limiter.tryAcquire(idle, limit)).toBe(0);
    });

    it('never grants more than the limit to concurrent callers', async () => {
      const limiter = open();
      const key = account();
      const results = await Promise.all(Array.from({ length: 40 }, () => limiter.tryAcquire(key, { limit: 10, windowMs: 5_000 })));
      expect(results.filter((r) => r === 0)).toHaveLength(10);
      expect(results.filter((r) => r > 0)).toHaveLength(30);
    });

    it('rejects a limit that cannot be met', async () => {
      const limiter = open();
      await expect(limiter.tryAcquire(account(), { limit: 0, windowMs: 1_000 })).rejects.toThrow(RangeError);
      await expect(limiter.tryAcquire(account(), { limit: 1, windowMs: 0 })).rejects.toThrow(RangeError);
    });

    it('blocks a key for the time given (a penalty box), keeps the longer of two blocks, then frees it', async () => {
      const limiter = open();
      const key = account();
      expect(await limiter.blockedFor(key)).toBe(0);
      await limiter.block(key, 300);
      await limiter.block(key, 50); // a shorter block never shortens the one in place
      const left = await limiter.blockedFor(key);
      expect(left).toBeGreaterThan(200);
      expect(left).toBeLessThanOrEqual(300);
      expect(await limiter.blockedFor(account())).toBe(0);
      await sleep(left + 30);
      expect(await limiter.blockedFor(key)).toBe(0);
    });

    // Only a distributed adapter has several processes to share a budget.
    if (harness.distributed) {
      it('shares a penalty box between two limiters (two workers) on the same store', async () => {
        const worker1 = open();
        const worker2 = open();
        const key = account();
        await worker1.block(key, 2_000);
        expect(await worker2.blockedFor(key)).toBeGreaterThan(1_000);
      });

      it('shares one budget between two limiters (two workers) on the same store', async () => {
        const worker1 = open();
        const worker2 = open();
        const key = account();
        const limit = { limit: 4, windowMs: 5_000 };
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? worker1 : worker2).tryAcquire(key, limit)),
        );
        expect(results.filter((r) => r === 0)).toHaveLength(4);
      });
    }
  });
}
