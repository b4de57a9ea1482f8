import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../lib/memory.rate-limiter.js';
import { BrokerRateLimitedError } from '../broker.js';
import { AccountThrottle } from './throttle.js';

describe('AccountThrottle', () => {
  it('leaves the next permit to a caller that waits for it, not to one that would not wait (a poll pass)', async () => {
    // The limiter's time is ours to move; the waiting caller's sleep is real (the window plus its margin).
    let now = Date.parse('2026-12-03T10:00:00Z');
    const limiter = new MemoryRateLimiter({ clock: { now: () => new Date(now) } });
    const budgets = { orders: [{ limit: 1, windowMs: 100 }] };
    const waits = new AccountThrottle({ broker: 'b', limiter, budgets, maxWaitMs: 5_000 });
    const skips = new AccountThrottle({ broker: 'b', limiter, budgets, maxWaitMs: 0 });

    await waits.take('acct', 'orders'); // the window's one permit
    const waiter = waits.take('acct', 'orders'); // sleeps until the window frees (350 ms: 100 + the 250 ms margin)
    await new Promise((r) => setTimeout(r, 20));
    now += 400; // the window has freed, but the waiter's timer has not fired yet
    await expect(skips.take('acct', 'orders')).rejects.toBeInstanceOf(BrokerRateLimitedError);
    await waiter; // it got the permit the poll left
    await expect(skips.take('acct', 'orders')).rejects.toBeInstanceOf(BrokerRateLimitedError); // taken: by the waiter
    // With nobody waiting, a caller that would not wait takes a free permit.
    now += 400;
    await expect(skips.take('acct', 'orders')).resolves.toBeUndefined();
  });

  it('gives up at once when the wait would pass its limit, and waits out a shorter one', async () => {
    const limiter = new MemoryRateLimiter();
    const budgets = { orders: [{ limit: 1, windowMs: 50 }] };
    const short = new AccountThrottle({ broker: 'c', limiter, budgets, maxWaitMs: 100 });
    await short.take('acct', 'orders');
    const t0 = performance.now();
    const err = await short.take('acct', 'orders').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerRateLimitedError); // 300 ms (50 + the 250 ms margin) > 100
    // Not slept: a sleep here would be the whole 300 ms. The bound leaves a loaded CI machine room.
    expect(performance.now() - t0).toBeLessThan(200);
    const patient = new AccountThrottle({ broker: 'c', limiter, budgets, maxWaitMs: 1_000 });
    await patient.take('acct', 'orders');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
  });
});
