import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.js';
import { createQueue } from './index.js';
import { MemoryQueue } from './memory.queue.js';

type Jobs = { ping: { n: number } };

const until = async (predicate: () => boolean): Promise<void> => {
  for (let i = 0; i < 250 && !predicate(); i += 1) await new Promise((r) => setTimeout(r, 10));
  expect(predicate()).toBe(true);
};

describe('MemoryQueue', () => {
  it('remembers only the most recent finished ids, so its dedupe memory stays bounded', async () => {
    const q = new MemoryQueue<Jobs>({ name: 'bounded', logger: silentLogger, recentIdCapacity: 2 });
    const runs: string[] = [];
    await q.work({ ping: async (job) => void runs.push(job.id) });
    for (const id of ['id-a', 'id-b', 'id-c']) await q.add('ping', { n: 1 }, { jobId: id });
    await until(() => runs.length === 3);
    await q.add('ping', { n: 2 }, { jobId: 'id-c' }); // still remembered: ignored
    await q.add('ping', { n: 3 }, { jobId: 'id-a' }); // forgotten: runs again
    await until(() => runs.length === 4);
    expect(runs).toEqual(['id-a', 'id-b', 'id-c', 'id-a']);
    await q.close();
  });

  it('drops delayed jobs and repeat timers on close, and refuses new jobs', async () => {
    const q = new MemoryQueue<Jobs>({ name: 'closing', logger: silentLogger });
    await q.add('ping', { n: 1 }, { delayMs: 60_000 });
    await q.repeat('ping', { n: 2 }, { everyMs: 60_000 });
    expect(await q.counts()).toMatchObject({ delayed: 1, waiting: 1 });
    await q.close();
    expect((await q.counts()).delayed).toBe(0);
    await expect(q.add('ping', { n: 3 })).rejects.toThrow(/closed/);
  });

  it('gives the handler a copy of the data, not the caller’s object', async () => {
    const q = new MemoryQueue<Jobs>({ name: 'copy', logger: silentLogger });
    const data = { n: 1 };
    const seen: number[] = [];
    await q.add('ping', data);
    data.n = 99;
    await q.work({ ping: async (job) => void seen.push(job.data.n) });
    await until(() => seen.length === 1);
    expect(seen).toEqual([1]);
    await q.close();
  });
});

describe('createQueue', () => {
  it('builds the in-process queue when no Redis URL is configured', async () => {
    const q = createQueue<Jobs>({ prefix: 'tg', name: 'jobs', logger: silentLogger });
    expect(q).toBeInstanceOf(MemoryQueue);
    await q.close();
  });
});
