/**
 * The JobQueue contract: every adapter (in process, BullMQ) must pass these same tests.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.js';
import { UnrecoverableJobError, type Job, type JobQueue } from '../../src/jobs/queue.js';
import { sleep, waitFor } from './helpers.js';

export interface QueueHarness {
  /** A new queue instance. Two instances made with the same name share their jobs when `distributed`. */
  create<M extends object>(name: string): JobQueue<M>;
  /** True when instances with one name share a store (BullMQ): several workers, one schedule. */
  distributed: boolean;
}

/** A JSON-safe payload as real jobs carry: decimals as strings, dates as ISO strings. */
interface OrderPayload {
  orderId: string;
  quantity: string;
  price: string;
  placedAt: string;
  tags: string[];
}

interface Jobs {
  submit: OrderPayload;
  ping: { n: number };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export function queueContract(label: string, harness: QueueHarness): void {
  describe(`JobQueue contract: ${label}`, () => {
    const opened: JobQueue<object>[] = [];

    /** A queue closed after the test; `name` lets two instances share a queue. */
    function open<M extends object>(name: string = `q-${randomUUID()}`): JobQueue<M> {
      const q = harness.create<M>(name);
      opened.push(q as JobQueue<object>);
      return q;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
    });

    it('hands the handler the job with its typed data, name and id', async () => {
      const q = open<Jobs>();
      const seen: Job<OrderPayload>[] = [];
      const payload: OrderPayload = {
        orderId: randomUUID(),
        quantity: '10',
        price: '1234.50',
        placedAt: '2026-01-05T09:15:00.000Z',
        tags: ['smallcase', 'rebalance'],
      };
      await q.add('submit', payload, { jobId: `order-${payload.orderId}` });
      await q.work({ submit: async (job) => void seen.push(job), ping: async () => undefined });
      await waitFor('the job to run', () => seen.length === 1);
      expect(seen[0]).toMatchObject({ id: `order-${payload.orderId}`, name: 'submit', attemptsMade: 0, attempts: 1 });
      expect(seen[0]?.data).toEqual(payload);
    });

    it('runs a job once however often it is added with the same jobId, also after it completed', async () => {
      const q = open<Jobs>();
      const runs: number[] = [];
      await Promise.all([1, 2, 3].map((n) => q.add('ping', { n }, { jobId: 'same-id' })));
      await q.work({ submit: async () => undefined, ping: async (job) => void runs.push(job.data.n) });
      await waitFor('the first run', () => runs.length === 1);
      await q.add('ping', { n: 4 }, { jobId: 'same-id' });
      await q.add('ping', { n: 5 }, { jobId: 'other-id' });
      await waitFor('the other job', () => runs.includes(5));
      await sleep(200);
      expect(runs.filter((n) => n !== 5)).toHaveLength(1);
      expect(await q.counts()).toMatchObject({ completed: 2, waiting: 0, active: 0 });
    });

    it('adds a bulk of jobs at once, each once however often its jobId is added', async () => {
      const q = open<Jobs>();
      const runs: number[] = [];
      await q.add('ping', { n: 0 }, { jobId: 'bulk-0' });
      await q.addBulk([
        { name: 'ping', data: { n: 1 }, opts: { jobId: 'bulk-1' } },
        { name: 'ping', data: { n: 2 }, opts: { jobId: 'bulk-2', attempts: 2, backoffMs: 10 } },
        { name: 'ping', data: { n: 99 }, opts: { jobId: 'bulk-0' } },
        { name: 'ping', data: { n: 98 }, opts: { jobId: 'bulk-1' } },
      ]);
      await q.work({ submit: async () => undefined, ping: async (job) => void runs.push(job.data.n) });
      await waitFor('three jobs', () => runs.length >= 3);
      await sleep(200);
      expect(runs.sort()).toEqual([0, 1, 2]);
      await expect(q.addBulk([{ name: 'ping', data: { n: 3 }, opts: { jobId: '42' } }])).rejects.toThrow(RangeError);
    });

    it('keeps a delayed job back until its delay has passed', async () => {
      const q = open<Jobs>();
      const ranAt: number[] = [];
      const addedAt = Date.now();
      await q.add('ping', { n: 1 }, { delayMs: 700 });
      expect(await q.counts()).toMatchObject({ delayed: 1, waiting: 0 });
      await q.work({ submit: async () => undefined, ping: async () => void ranAt.push(Date.now()) });
      await sleep(300);
      expect(ranAt).toHaveLength(0);
      await waitFor('the delayed job', () => ranAt.length === 1);
      expect((ranAt[0] as number) - addedAt).toBeGreaterThanOrEqual(650);
    });

    it('retries a failing job with exponential backoff, counting attempts, until it succeeds', async () => {
      const q = open<Jobs>();
      const calls: { attemptsMade: number; attempts: number; at: number }[] = [];
      await q.add('ping', { n: 1 }, { attempts: 4, backoffMs: 200 });
      await q.work({
        submit: async () => undefined,
        ping: async (job) => {
          calls.push({ attemptsMade: job.attemptsMade, attempts: job.attempts, at: Date.now() });
          if (calls.length < 3) throw new Error(`transient failure ${calls.length}`);
        },
      });
      await waitFor('the third attempt to succeed', async () => (await q.counts()).completed === 1);
      expect(calls.map((c) => c.attemptsMade)).toEqual([0, 1, 2]);
      expect(calls.every((c) => c.attempts === 4)).toBe(true);
      const [first, second, third] = calls.map((c) => c.at) as [number, number, number];
      // backoffMs * 2^(n-1): 200 ms after the first failure, 400 ms after the second (a little slack for timers).
      expect(second - first).toBeGreaterThanOrEqual(180);
      expect(third - second).toBeGreaterThanOrEqual(380);
      expect(await q.counts()).toMatchObject({ failed: 0, delayed: 0 });
    });

    // The job layer's own class, and the domain's, which services throw (they do not import the job layer).
    it.each([
      ['UnrecoverableJobError', (m: string) => new UnrecoverableJobError(m)],
      ["the domain's PermanentError", (m: string) => new PermanentError(m)],
    ])('does not retry a job that throws %s', async (_name, error) => {
      const q = open<Jobs>();
      let calls = 0;
      await q.add('ping', { n: 1 }, { attempts: 5, backoffMs: 10 });
      await q.work({
        submit: async () => undefined,
        ping: async () => {
          calls += 1;
          throw error('broker rejected the order');
        },
      });
      await waitFor('the job to fail', async () => (await q.counts()).failed === 1);
      await sleep(300);
      expect(calls).toBe(1);
      expect(await q.counts()).toMatchObject({ failed: 1, delayed: 0, waiting: 0, completed: 0 });
    });

    it('never runs more jobs at once than the concurrency', async () => {
      const q = open<Jobs>();
      let running = 0;
      let most = 0;
      let done = 0;
      for (let n = 0; n < 8; n += 1) await q.add('ping', { n });
      await q.work(
        {
          submit: async () => undefined,
          ping: async () => {
            running += 1;
            most = Math.max(most, running);
            await sleep(150);
            running -= 1;
            done += 1;
          },
        },
        { concurrency: 3 },
      );
      await waitFor('all eight jobs', () => done === 8, 10_000);
      expect(most).toBe(3);
    });

    it('close() waits for the running job to finish, then starts no more', async () => {
      const q = open<Jobs>();
      const started: number[] = [];
      const finished: number[] = [];
      const gate = deferred();
      await q.add('ping', { n: 1 });
      await q.add('ping', { n: 2 });
      await q.work({
        submit: async () => undefined,
        ping: async (job) => {
          started.push(job.data.n);
          await gate.promise;
          finished.push(job.data.n);
        },
      });
      await waitFor('the first job to start', () => started.length === 1);
      let closed = false;
      const closing = q.close().then(() => (closed = true));
      await sleep(300);
      expect(closed).toBe(false); // still waiting for the running job
      gate.resolve();
      await closing;
      expect(finished).toEqual([1]);
      await sleep(300);
      expect(started).toEqual([1]);
    });

    it('repeats a job every interval', async () => {
      const q = open<Jobs>();
      const runs: number[] = [];
      await q.work({ submit: async () => undefined, ping: async () => void runs.push(Date.now()) });
      await q.repeat('ping', { n: 0 }, { everyMs: 250 });
      await waitFor('three runs', () => runs.length >= 3, 5_000);
      const gaps = runs.slice(1).map((t, i) => t - (runs[i] as number));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(150);
    });

    it('keeps one schedule per job name when repeat() is called again', async () => {
      const q = open<Jobs>();
      const runs: number[] = [];
      await q.work({ submit: async () => undefined, ping: async () => void runs.push(Date.now()) });
      const start = Date.now();
      await q.repeat('ping', { n: 0 }, { everyMs: 300 });
      await q.repeat('ping', { n: 0 }, { everyMs: 300 });
      await sleep(1_400);
      const elapsed = Date.now() - start;
      expect(runs.length).toBeGreaterThanOrEqual(3);
      // Two registrations would run about twice per interval.
      expect(runs.length).toBeLessThanOrEqual(Math.floor(elapsed / 300) + 2);
    });

    // Only a distributed adapter has several instances sharing one queue.
    if (harness.distributed) it('runs a repeating job once per interval across queue instances sharing a name', async () => {
      const name = `q-${randomUUID()}`;
      const a = open<Jobs>(name);
      const b = open<Jobs>(name);
      const runs: { by: string; id: string }[] = [];
      const handlers = (by: string) => ({
        submit: async () => undefined,
        ping: async (job: Job<{ n: number }>) => void runs.push({ by, id: job.id }),
      });
      await a.work(handlers('a'));
      await b.work(handlers('b'));
      const start = Date.now();
      await a.repeat('ping', { n: 0 }, { everyMs: 300 });
      await b.repeat('ping', { n: 0 }, { everyMs: 300 });
      await sleep(2_100);
      const elapsed = Date.now() - start;
      const count = runs.length;
      expect(count).toBeGreaterThanOrEqual(4);
      // Once per interval (plus the immediate first run and one of timer slack), not once per instance.
      expect(count).toBeLessThanOrEqual(Math.floor(elapsed / 300) + 2);
      expect(new Set(runs.map((r) => r.id)).size).toBe(count);
    });

    it('stops repeating a job after unrepeat(), and repeats it again after a new repeat()', async () => {
      const q = open<Jobs>();
      const runs: number[] = [];
      await q.work({ submit: async () => undefined, ping: async () => void runs.push(Date.now()) });
      await q.unrepeat('ping'); // none registered: a no-op
      await q.repeat('ping', { n: 0 }, { everyMs: 200 });
      await waitFor('two runs', () => runs.length >= 2, 5_000);
      await q.unrepeat('ping');
      // An iteration already due may still run once; after that, none.
      await sleep(300);
      const stoppedAt = runs.length;
      await sleep(700);
      expect(runs.length).toBe(stoppedAt);
      await q.repeat('ping', { n: 0 }, { everyMs: 200 });
      await waitFor('runs again', () => runs.length > stoppedAt, 5_000);
    });

    it('counts waiting, completed and failed jobs', async () => {
      const q = open<Jobs>();
      await q.add('ping', { n: 1 });
      await q.add('ping', { n: 2 });
      await q.add('ping', { n: -1 });
      expect(await q.counts()).toEqual({ waiting: 3, active: 0, delayed: 0, completed: 0, failed: 0 });
      await q.work({
        submit: async () => undefined,
        ping: async (job) => {
          if (job.data.n < 0) throw new Error('negative');
        },
      });
      await waitFor('all three to finish', async () => {
        const c = await q.counts();
        return c.completed + c.failed === 3;
      });
      expect(await q.counts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 2, failed: 1 });
    });

    it('refuses a job id the Redis adapter could not store, in every adapter', async () => {
      const q = open<Jobs>();
      await expect(q.add('ping', { n: 1 }, { jobId: '42' })).rejects.toThrow(RangeError);
      await expect(q.add('ping', { n: 1 }, { jobId: 'a:b' })).rejects.toThrow(RangeError);
    });
  });
}
