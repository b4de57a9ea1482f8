import { describe, expect, it, vi, afterEach } from 'vitest';
import type { StoredEvent } from '../../events/outbox.js';
import { orderIn } from '../../events/topics.js';
import type { OrderSnapshot } from './order.snapshot.js';
import { HeldEvents } from './held-events.js';

let nextId = 1;
// HeldEvents reads nothing of the payload: each event's order carries a label (as its id) to tell it apart.
function event(portfolioId: string, label: string): StoredEvent {
  return {
    id: nextId++,
    message: { portfolioId, sequence: nextId, type: 'ORDER_UPDATED', payload: { order: { id: label } as OrderSnapshot }, createdAt: new Date(0).toISOString() },
  };
}
const label = (events: StoredEvent[]) => events.map((e) => `${e.message.portfolioId}:${orderIn(e.message)!.id}`);

function recorder() {
  const calls: string[][] = [];
  return { calls, relay: { published: async (events: StoredEvent[]) => void calls.push(label(events)) } };
}

describe('SUBMITTING events held per portfolio until their acknowledgement', () => {
  afterEach(() => vi.useRealTimers());

  it("sends an acknowledgement with its own portfolio's held events first and leaves another portfolio's held", async () => {
    const { calls, relay } = recorder();
    const held = new HeldEvents(relay, 60_000);
    held.hold([event('p1', 'SUBMITTING')]);
    held.hold([event('p2', 'SUBMITTING')]);
    await held.published([event('p1', 'OPEN')]);
    expect(calls).toEqual([['p1:SUBMITTING', 'p1:OPEN']]);
    await held.published([event('p2', 'OPEN'), event('p2', 'FILLED')]);
    expect(calls[1]).toEqual(['p2:SUBMITTING', 'p2:OPEN', 'p2:FILLED']);
  });

  it('keeps the commit order of one portfolio when two of its orders are held', async () => {
    const { calls, relay } = recorder();
    const held = new HeldEvents(relay, 60_000);
    held.hold([event('p1', 'SUBMITTING-a')]);
    held.hold([event('p1', 'SUBMITTING-b')]);
    await held.published([event('p1', 'OPEN-a')]);
    expect(calls).toEqual([['p1:SUBMITTING-a', 'p1:SUBMITTING-b', 'p1:OPEN-a']]);
    await held.published([event('p1', 'OPEN-b')]);
    expect(calls[1]).toEqual(['p1:OPEN-b']);
  });

  it('publishes what no acknowledgement took within the hold alone, each portfolio after its own wait', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { calls, relay } = recorder();
    const held = new HeldEvents(relay, 50);
    held.hold([event('p1', 'SUBMITTING')]);
    await vi.advanceTimersByTimeAsync(30);
    held.hold([event('p2', 'SUBMITTING')]);
    await vi.advanceTimersByTimeAsync(21); // p1 has waited 51 ms, p2 21 ms
    expect(calls).toEqual([['p1:SUBMITTING']]);
    await vi.advanceTimersByTimeAsync(30); // p2 has waited 51 ms
    expect(calls).toEqual([['p1:SUBMITTING'], ['p2:SUBMITTING']]);
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toHaveLength(2);
  });

  it('publishes nothing twice when an acknowledgement takes held events before their wait ends', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { calls, relay } = recorder();
    const held = new HeldEvents(relay, 50);
    held.hold([event('p1', 'SUBMITTING')]);
    await held.published([event('p1', 'OPEN')]);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toEqual([['p1:SUBMITTING', 'p1:OPEN']]);
  });
});
