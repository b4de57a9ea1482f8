import { describe, expect, it } from 'vitest';
import { toAsyncIterator } from '../events/async-iterator.js';
import type { PortfolioEventMessage, PortfolioEventType } from '../events/topics.js';
import { GAP_WAIT_MS, SequencedStream, type StreamAccess } from './event.service.js';

// The stream orders and filters by sequence and type only: the payload is left empty.
const ev = (sequence: number, type: PortfolioEventType = 'ORDER_UPDATED', portfolioId = 'p1'): PortfolioEventMessage =>
  ({ portfolioId, sequence, type, payload: {}, createdAt: '2026-01-05T09:15:00.000Z' }) as unknown as PortfolioEventMessage;

function harness(opts: { last?: number; outbox?: PortfolioEventMessage[]; types?: PortfolioEventType[]; access?: StreamAccess } = {}) {
  let push!: (m: PortfolioEventMessage) => void;
  const live = toAsyncIterator<PortfolioEventMessage>(async (p) => {
    push = p;
    return async () => {};
  });
  const fetched: [number, number][] = [];
  const stream = new SequencedStream(live, new Map([['p1', opts.last ?? 0]]), [], new Set(opts.types ?? ['ORDER_UPDATED', 'FILL_RECEIVED']), async (_p, after, before) => {
    fetched.push([after, before]);
    return (opts.outbox ?? []).filter((m) => m.sequence > after && m.sequence < before);
  }, opts.access);
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

  describe('after an access change', () => {
    const access = (visible: string[], named: string[] = []) => {
      const a = { named: new Set(named), checks: 0, released: 0, recheck: async () => (a.checks++, new Set(visible)), release: () => void a.released++ };
      return a;
    };

    it('asks nothing until marked stale, then re-checks once', async () => {
      const a = access(['p1']);
      const h = harness({ access: a });
      await h.ready;
      h.push(ev(1));
      expect((await h.stream.next()).value?.sequence).toBe(1);
      expect(a.checks).toBe(0);
      h.stream.markStale();
      h.push(ev(2));
      h.push(ev(3));
      expect((await h.stream.next()).value?.sequence).toBe(2);
      expect((await h.stream.next()).value?.sequence).toBe(3);
      expect(a.checks).toBe(1);
    });

    it('ends a stream of a named portfolio with NOT_FOUND at once, even while it waits, and releases it', async () => {
      const a = access([], ['p1']);
      const h = harness({ access: a });
      await h.ready;
      const waiting = h.stream.next();
      h.stream.markStale();
      await expect(waiting).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(a.released).toBe(1);
      expect((await h.stream.next()).done).toBe(true);
    });

    it('drops the lost portfolio from an unfiltered stream, held events included, and goes on with the rest', async () => {
      const a = access(['p2']);
      const h = harness({ access: a });
      await h.ready;
      h.push(ev(1, 'ORDER_UPDATED', 'p1'));
      h.stream.markStale();
      h.push(ev(2, 'ORDER_UPDATED', 'p1'));
      h.push(ev(1, 'ORDER_UPDATED', 'p2'));
      const r = await h.stream.next();
      expect(r.value).toMatchObject({ portfolioId: 'p2', sequence: 1 });
      expect(a.checks).toBe(1);
    });
  });
});
