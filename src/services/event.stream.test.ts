import { describe, expect, it } from 'vitest';
import { toAsyncIterator } from '../events/async-iterator.js';
import type { PortfolioEventMessage, PortfolioEventType } from '../events/topics.js';
import { GAP_WAIT_MS, SequencedStream } from './event.service.js';

// The stream orders and filters by sequence and type only: the payload is left empty.
const ev = (sequence: number, type: PortfolioEventType = 'ORDER_UPDATED', portfolioId = 'p1'): PortfolioEventMessage =>
  ({ portfolioId, sequence, type, payload: {}, createdAt: '2026-01-05T09:15:00.000Z' }) as unknown as PortfolioEventMessage;

function harness(opts: { last?: number; outbox?: PortfolioEventMessage[]; types?: PortfolioEventType[] } = {}) {
  let push!: (m: PortfolioEventMessage) => void;
  const live = toAsyncIterator<PortfolioEventMessage>(async (p) => {
    push = p;
    return async () => {};
  });
  const fetched: [number, number][] = [];
  const stream = new SequencedStream(live, new Map([['p1', opts.last ?? 0]]), [], new Set(opts.types ?? ['ORDER_UPDATED', 'FILL_RECEIVED']), async (_p, after, before) => {
    fetched.push([after, before]);
    return (opts.outbox ?? []).filter((m) => m.sequence > after && m.sequence < before);
  });
  return { stream, push: (m: PortfolioEventMessage) => push(m), fetched, ready: live.ready };
}

describe('the sequenced event stream of a subscription', () => {
  it('reorders events that arrive ahead of their predecessors, without asking the outbox', async () => {
    const h = harness();
    await h.ready;
    h.push(ev(2));
    h.push(ev(1));
    h.push(ev(3));
    const got = [await h.stream.next(), await h.stream.next(), await h.stream.next()].map((r) => r.value?.sequence);
    expect(got).toEqual([1, 2, 3]);
    expect(h.fetched).toEqual([]);
  });

  it('reads a missing event from the outbox once it has waited long enough', async () => {
    const h = harness({ outbox: [ev(1), ev(2, 'FILL_RECEIVED')] });
    await h.ready;
    h.push(ev(3));
    const t = Date.now();
    const got = [await h.stream.next(), await h.stream.next(), await h.stream.next()].map((r) => r.value?.sequence);
    expect(got).toEqual([1, 2, 3]);
    expect(Date.now() - t).toBeGreaterThanOrEqual(GAP_WAIT_MS - 5);
    expect(h.fetched).toEqual([[0, 3]]);
  });

  it('drops repeats and events it has already delivered, and filters by type', async () => {
    const h = harness({ last: 4, types: ['FILL_RECEIVED'] });
    await h.ready;
    h.push(ev(3));
    h.push(ev(5));
    h.push(ev(5));
    h.push(ev(6, 'FILL_RECEIVED'));
    const r = await h.stream.next();
    expect(r.value).toMatchObject({ sequence: 6, type: 'FILL_RECEIVED' });
    expect(h.fetched).toEqual([]);
  });

  it('ends when returned, even while waiting', async () => {
    const h = harness();
    await h.ready;
    const pending = h.stream.next();
    await h.stream.return();
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});
