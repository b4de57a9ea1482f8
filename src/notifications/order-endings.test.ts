import { describe, expect, it } from 'vitest';
import { NotificationService } from './notification.service.js';
import { eventId } from './events.js';
import { silentLogger } from '../lib/logger.js';
import { systemClock } from '../lib/clock.js';
import type { NotificationQueue } from './jobs.js';
import type { PortfolioEventMessage } from '../events/topics.js';
import type { OrderSnapshot } from '../services/orders/order.snapshot.js';

/** A notification service whose queue records what it is given (the rest is not reached by emitting). */
function service() {
  const added: { name: string; data: { events: { id: string; userId: string }[] }; jobId?: string }[] = [];
  const queue = { add: async (name: string, data: unknown, opts?: { jobId?: string }) => void added.push({ name, data: data as never, jobId: opts?.jobId }) };
  const svc = new NotificationService({
    db: null as never,
    clock: systemClock,
    logger: silentLogger,
    pubsub: null as never,
    queue: queue as unknown as NotificationQueue,
    channels: { maxAttempts: 1, backoffMs: 1, emailEnabled: false },
  });
  return { svc, added };
}

// The fields of the order the notifications read; the rest of a snapshot does not matter here.
const ending = (orderId: string, status: OrderSnapshot['status'], userId = 'u1'): PortfolioEventMessage => ({
  portfolioId: 'p1',
  sequence: 1,
  type: 'ORDER_UPDATED',
  payload: { order: { id: orderId, userId, status, side: 'BUY', quantity: '1', filledQuantity: status === 'FILLED' ? '1' : '0', averageFillPrice: '10', rejectReason: null, instrumentId: 'i', portfolioId: 'p1' } as OrderSnapshot },
  createdAt: new Date(0).toISOString(),
});
const tick = () => new Promise((r) => setImmediate(r));

describe('order endings published together become one notify job', () => {
  it('a burst of fills (a pooled window, a batch of acknowledgements) is one job holding each ending once', async () => {
    const { svc, added } = service();
    for (let i = 0; i < 1200; i++) svc.fromPortfolioEvent(ending(`o${i}`, 'FILLED', `u${i % 7}`));
    svc.fromPortfolioEvent(ending('o5', 'FILLED', 'u5')); // republished in the same burst
    svc.fromPortfolioEvent(ending('o9', 'OPEN')); // not an ending
    await tick();
    await tick();
    expect(added.map((a) => a.data.events.length)).toEqual([500, 500, 200]);
    const ids = added.flatMap((a) => a.data.events.map((e) => e.id));
    expect(new Set(ids).size).toBe(1200);
    expect(ids).toContain(eventId('order:o1199:FILLED'));
    expect(added.every((a) => a.name === 'notify')).toBe(true);
  });

  it('a lone ending keeps its own job id, so a republished one is still one job', async () => {
    const { svc, added } = service();
    svc.fromPortfolioEvent(ending('solo', 'REJECTED'));
    await tick();
    svc.fromPortfolioEvent(ending('solo', 'REJECTED'));
    await tick();
    expect(added.map((a) => a.jobId)).toEqual([`notify-${eventId('order:solo:REJECTED')}`, `notify-${eventId('order:solo:REJECTED')}`]);
    expect(added[0].data.events).toHaveLength(1);
  });
});

describe('an order the submit job filled is notified in that job, not by a notify job of its own', () => {
  const order = (id: string, status = 'FILLED') => ({ id, userId: 'u1', status, side: 'BUY', quantity: '1', filledQuantity: '1', averageFillPrice: '10', rejectReason: null, portfolioId: 'p1' });

  it('fans the ending out at once and does not queue the copy its publish brings', async () => {
    const { svc, added } = service();
    const fanned: string[] = [];
    svc.fanOut = async (events) => void fanned.push(...events.map((e) => e.id));
    await svc.orderEnded(order('a'), new Date(0).toISOString());
    expect(fanned).toEqual([eventId('order:a:FILLED')]);
    svc.fromPortfolioEvent(ending('a', 'FILLED'));
    await tick();
    expect(added).toEqual([]);
    // Told again (a retried submit job): fanned out again, harmless (rows unique per user and event).
    await svc.orderEnded(order('a'), new Date(0).toISOString());
    expect(fanned).toHaveLength(2);
  });

  it('leaves an ending its publish queued first to that job', async () => {
    const { svc, added } = service();
    const fanned: string[] = [];
    svc.fanOut = async (events) => void fanned.push(...events.map((e) => e.id));
    svc.fromPortfolioEvent(ending('b', 'FILLED'));
    await svc.orderEnded(order('b'), new Date(0).toISOString());
    await tick();
    expect(fanned).toEqual([]);
    expect(added.map((a) => a.jobId)).toEqual([`notify-${eventId('order:b:FILLED')}`]);
  });

  it('fans out the endings told together (an acknowledgement batch) in one call, each caller waiting for it', async () => {
    const { svc, added } = service();
    const calls: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    svc.fanOut = async (events) => {
      calls.push(events.map((e) => e.id));
      await gate;
    };
    let done = 0;
    const told = ['e1', 'e2', 'e3', 'e2'].map((id) => svc.orderEnded(order(id), new Date(0).toISOString()).then(() => done++));
    await tick();
    await tick();
    expect(calls).toEqual([['e1', 'e2', 'e3'].map((id) => eventId(`order:${id}:FILLED`))]);
    expect(done).toBe(0); // not until the batch's rows are written
    release();
    await Promise.all(told);
    expect(done).toBe(4);
    expect(added).toEqual([]);
  });

  it('hands every ending of a batch that fails to its own notify job', async () => {
    const { svc, added } = service();
    svc.fanOut = async () => {
      throw new Error('database down');
    };
    await Promise.all(['f1', 'f2'].map((id) => svc.orderEnded(order(id), new Date(0).toISOString())));
    expect(added.map((a) => a.jobId).sort()).toEqual(['f1', 'f2'].map((id) => `notify-${eventId(`order:${id}:FILLED`)}`).sort());
  });

  it('hands a fan-out that fails to a notify job, and tells nothing for an order that did not end', async () => {
    const { svc, added } = service();
    svc.fanOut = async () => {
      throw new Error('database down');
    };
    await svc.orderEnded(order('c'), new Date(0).toISOString());
    expect(added.map((a) => a.jobId)).toEqual([`notify-${eventId('order:c:FILLED')}`]);
    await svc.orderEnded(order('d', 'OPEN'), new Date(0).toISOString());
    expect(added).toHaveLength(1);
  });
});
