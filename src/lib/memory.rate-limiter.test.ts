import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { MemoryRateLimiter } from './memory.rate-limiter.js';
import { createRateLimiter } from './rate-limiter.factory.js';

describe('MemoryRateLimiter with a pinned clock', () => {
  it('answers the exact wait until the grant that frees a slot leaves the window (Kite: 10 orders/s)', async () => {
    const clock = new ManualClock();
    const limiter = new MemoryRateLimiter({ clock });
    const kite = { limit: 10, windowMs: 1_000 };
    for (let i = 0; i < 10; i += 1) {
      expect(await limiter.tryAcquire('kite:acct-1', kite)).toBe(0);
      clock.advance(50);
    }
    // Grants at t=0..450; now t=500: the first leaves the window at t=1000.
    expect(await limiter.tryAcquire('kite:acct-1', kite)).toBe(500);
    clock.advance(499);
    expect(await limiter.tryAcquire('kite:acct-1', kite)).toBe(1);
    clock.advance(1);
    expect(await limiter.tryAcquire('kite:acct-1', kite)).toBe(0);
    // The second grant (t=50) is next to leave.
    expect(await limiter.tryAcquire('kite:acct-1', kite)).toBe(50);
  });

  it('never lets more than the limit through in any window, unlike a fixed window at its boundary', async () => {
    const clock = new ManualClock(new Date('2026-01-05T09:15:00.900Z'));
    const limiter = new MemoryRateLimiter({ clock });
    const limit = { limit: 5, windowMs: 1_000 };
    let granted = 0;
    for (let step = 0; step < 4; step += 1) {
      for (let i = 0; i < 5; i += 1) if ((await limiter.tryAcquire('k', limit)) === 0) granted += 1;
      clock.advance(100); // 09:15:00.900 → 09:15:01.200 crosses a second boundary
    }
    expect(granted).toBe(5);
  });
});

describe('createRateLimiter', () => {
  it('builds the in-process limiter when no Redis URL is configured', async () => {
    const limiter = createRateLimiter({ prefix: 'tg' });
    expect(limiter).toBeInstanceOf(MemoryRateLimiter);
    await limiter.close();
  });
});
