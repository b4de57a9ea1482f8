import { describe, expect, it } from 'vitest';
import type { OutboxRelay, StoredEvent } from '../../events/outbox.js';
import { PooledPublisher } from './pooled-publisher.js';

/** A relay that records what it was handed (the publisher's only dependency: its `published`). */
function recordingRelay() {
  const published: number[] = [];
  const relay = { published: async (events: StoredEvent[]) => void published.push(...events.map((e) => e.id)) } as unknown as OutboxRelay;
  return { relay, published };
}

const events = (...ids: number[]): StoredEvent[] =>
  ids.map((id) => ({ id, message: { portfolioId: 'p', sequence: id, type: 'BALANCE_CHANGED', payload: { cash: '0.00', availableCash: '0.00', reason: 'TEST' }, createdAt: new Date(0).toISOString() } }));
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('PooledPublisher: committed events are published after the allocations that wrote them', () => {
  it('publishes at once when no allocation run is in progress', async () => {
    const { relay, published } = recordingRelay();
    const p = new PooledPublisher(relay, 10_000);
    p.enqueue(events(1, 2));
    await tick(5);
    expect(published).toEqual([1, 2]);
  });

  it('holds events queued during a run until the run ends, then publishes them in order', async () => {
    const { relay, published } = recordingRelay();
    const p = new PooledPublisher(relay, 10_000);
    let end!: () => void;
    const run = p.deferWhile(
      () =>
        new Promise<void>((r) => {
          p.enqueue(events(1));
          p.enqueue(events(2, 3));
          end = r;
        }),
    );
    await tick(20);
    expect(published).toEqual([]);
    end();
    await run;
    await tick(5);
    expect(published).toEqual([1, 2, 3]);
  });

  it('publishes during a long run once the oldest event has waited the longest deferral', async () => {
    const { relay, published } = recordingRelay();
    const p = new PooledPublisher(relay, 30);
    let end!: () => void;
    const run = p.deferWhile(() => new Promise<void>((r) => (end = r)));
    p.enqueue(events(1));
    await tick(5);
    expect(published).toEqual([]);
    await tick(60);
    expect(published).toEqual([1]);
    end();
    await run;
  });

  it('idle() publishes what is queued even while a run defers it, and resolves once handed over', async () => {
    const { relay, published } = recordingRelay();
    const p = new PooledPublisher(relay, 10_000);
    let end!: () => void;
    const run = p.deferWhile(() => new Promise<void>((r) => (end = r)));
    p.enqueue(events(7, 8));
    await p.idle();
    expect(published).toEqual([7, 8]);
    end();
    await run;
  });
});
