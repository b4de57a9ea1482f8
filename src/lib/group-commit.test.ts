import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('hands calls made in one turn of the event loop to one run, answering each with its own result', async () => {
    const runs: number[][] = [];
    const g = new GroupCommit<number, number>(async (items) => {
      runs.push(items);
      return items.map((i) => i * 10);
    }, { maxBatch: 64, maxInFlight: 1 });
    const results = await Promise.all([1, 2, 3].map((i) => g.push(i)));
    expect(results).toEqual([10, 20, 30]);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  it('lets calls that arrive while a run is busy wait, and takes them together in the next run', async () => {
    const runs: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const g = new GroupCommit<number, number>(async (items) => {
      runs.push(items);
      if (runs.length === 1) await gate;
      return items;
    }, { maxBatch: 64, maxInFlight: 1 });
    const first = g.push(1);
    await tick();
    const later = [2, 3, 4].map((i) => g.push(i));
    await tick();
    expect(runs).toEqual([[1]]); // the others wait for the busy run
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4]);
    expect(runs).toEqual([[1], [2, 3, 4]]);
  });

  it('never puts more than maxBatch items in a run, nor runs more than maxInFlight at once', async () => {
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const g = new GroupCommit<number, number>(async (items) => {
      running++;
      most = Math.max(most, running);
      sizes.push(items.length);
      await tick();
      running--;
      return items;
    }, { maxBatch: 4, maxInFlight: 2 });
    const out = await Promise.all(Array.from({ length: 10 }, (_, i) => g.push(i)));
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Math.max(...sizes)).toBe(4);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
    expect(most).toBe(2);
  });

  it('rejects every call of a run that throws, and keeps serving later calls', async () => {
    let fail = true;
    const g = new GroupCommit<number, number>(async (items) => {
      if (fail) throw new Error('deadlock detected');
      return items;
    }, { maxBatch: 64, maxInFlight: 1 });
    const failed = await Promise.allSettled([g.push(1), g.push(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await g.push(3)).toBe(3);
  });
});
