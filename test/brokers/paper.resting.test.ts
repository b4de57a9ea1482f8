/**
 * The matcher runs a pass only for instruments that may have resting orders (paper.resting-index.ts):
 * its own placements are known at once, other processes' from its next scan of the book. On PGlite, and
 * on Postgres when DATABASE_URL is set (CI's second run), where the "processes" truly overlap.
 */
import { describe, expect, it, vi } from 'vitest';
import { usePaperExchange } from './paper-exchange.js';

const DATABASE_URL = process.env.DATABASE_URL;
const exchange = usePaperExchange(DATABASE_URL ? { url: DATABASE_URL, poolSize: 6 } : {});
const backend = DATABASE_URL ? 'Postgres' : 'PGlite';

describe(`paper exchange on ${backend}: matching only where orders rest`, () => {
  it('fills an order it placed itself on the next crossing quote, with no scan in between', async () => {
    const { make, px, account, req } = await exchange();
    const matcher = make({ matching: true, restingScanMs: 3_600_000 });
    await matcher.scanRestingBook();
    const placed = await matcher.placeOrder(req({ limitPrice: '99.00', quantity: '10' }));
    expect(placed.status).toBe('OPEN');
    px({ bid: '98.70', ask: '98.90', askSize: '1000' });
    await matcher.matchingIdle();
    expect((await matcher.getOrder(account, placed))?.status).toBe('FILLED');
  });

  it("skips an instrument it found empty until its next scan shows another process's resting order", async () => {
    const { broker: placer, make, px, account, req } = await exchange();
    const matcher = make({ matching: true, restingScanMs: 3_600_000 });
    await matcher.scanRestingBook();
    const placed = await placer.placeOrder(req({ limitPrice: '99.00', quantity: '10' }));
    expect(placed.status).toBe('OPEN');

    // Crossing, but the matcher has not heard of the order: no pass, nothing fills.
    px({ bid: '98.70', ask: '98.90', askSize: '1000' });
    await matcher.matchingIdle();
    expect((await placer.getOrder(account, placed))?.status).toBe('OPEN');

    await matcher.scanRestingBook();
    px({ bid: '98.65', ask: '98.85', askSize: '1000' });
    await matcher.matchingIdle();
    const after = await placer.getOrder(account, placed);
    expect(after?.status).toBe('FILLED');
    expect(after?.averagePrice).toBe('98.85');
  });

  it('learns of resting orders by its periodic scan without being asked', async () => {
    const { broker: placer, make, px, account, req } = await exchange();
    const placed = await placer.placeOrder(req({ limitPrice: '99.00', quantity: '10' }));
    const matcher = make({ matching: true, restingScanMs: 50 });
    await vi.waitFor(
      async () => {
        px({ bid: '98.70', ask: '98.90', askSize: '1000' });
        await matcher.matchingIdle();
        expect((await placer.getOrder(account, placed))?.status).toBe('FILLED');
      },
      { timeout: 5_000, interval: 60 },
    );
  });

  it('matches every resting order before its first scan has completed (a new leader)', async () => {
    const { broker: placer, make, px, account, req } = await exchange();
    const placed = await placer.placeOrder(req({ limitPrice: '99.00', quantity: '10' }));
    // The first scan may not be back yet: until it is, every instrument counts as possibly resting.
    const matcher = make({ matching: true, restingScanMs: 3_600_000 });
    px({ bid: '98.70', ask: '98.90', askSize: '1000' });
    await matcher.matchingIdle();
    await vi.waitFor(async () => expect((await placer.getOrder(account, placed))?.status).toBe('FILLED'), { timeout: 5_000 });
  });
});
