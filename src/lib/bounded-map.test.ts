import { describe, expect, it } from 'vitest';
import { setBounded } from './bounded-map.js';

describe('setBounded', () => {
  it('keeps at most max entries, forgetting the oldest inserted first', () => {
    const m = new Map<string, number>();
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) setBounded(m, k, v, 3);
    expect([...m]).toEqual([['b', 2], ['c', 3], ['d', 4]]);
  });

  it('makes a key set again the newest, so it outlives the others', () => {
    const m = new Map<string, number>([['a', 1], ['b', 2]]);
    setBounded(m, 'a', 10, 2);
    setBounded(m, 'c', 3, 2);
    expect([...m]).toEqual([['a', 10], ['c', 3]]);
  });
});
