import { describe, expect, it } from 'vitest';
import type { Quote } from '../../market/quote.js';
import { MatchQueue } from './paper.match-queue.js';

const q = (symbol: string, last: string): Quote => ({
  symbol,
  exchange: 'NSE',
  bid: null,
  ask: null,
  bidSize: null,
  askSize: null,
  last,
  volume: null,
  timestamp: '2026-01-05T09:15:00.000Z',
});

describe('paper match queue', () => {
  it('never overlaps passes and keeps only the newest waiting quote per instrument', async () => {
    const seen: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const queue = new MatchQueue(async (quote) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 5));
      seen.push(`${quote.symbol}@${quote.last}`);
      running -= 1;
    });
    await Promise.all([queue.push(q('A', '1')), queue.push(q('A', '2')), queue.push(q('B', '1')), queue.push(q('A', '3'))]);
    expect(maxRunning).toBe(1);
    // A@1 started at once; A@2 was superseded by A@3 while it waited.
    expect(seen).toEqual(['A@1', 'A@3', 'B@1']);
  });

  it('rejects the waiters of a failed pass and keeps serving later quotes', async () => {
    const queue = new MatchQueue(async (quote) => {
      if (quote.last === 'bad') throw new Error('boom');
    });
    await expect(queue.push(q('A', 'bad'))).rejects.toThrow('boom');
    await expect(queue.push(q('A', 'good'))).resolves.toBeUndefined();
    await queue.idle();
  });
});
