/**
 * Runs the JobQueue contract against the in-process adapter always, and against BullMQ when REDIS_URL is
 * set (with the crash-recovery test, which only a distributed queue can pass).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BullMqQueue } from '../../src/jobs/bullmq.queue.js';
import { MemoryQueue } from '../../src/jobs/memory.queue.js';
import type { Job } from '../../src/jobs/queue.js';
import { silentLogger } from '../../src/lib/logger.js';
import { REDIS_URL, connectTestRedis, deleteKeys, requireRedisWhenServicesRequired, waitFor } from './helpers.js';
import { queueContract } from './queue.contract.js';

requireRedisWhenServicesRequired();

queueContract('in process', {
  distributed: false,
  create: (name) => new MemoryQueue({ name, logger: silentLogger }),
});

describe.runIf(Boolean(REDIS_URL))('BullMQ on Redis', () => {
  const url = REDIS_URL as string;
  const prefix = `test-${randomUUID()}`;
  let redis: Redis;

  beforeAll(async () => {
    redis = await connectTestRedis(url);
  });

  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  queueContract('BullMQ', {
    distributed: true,
    create: (name) => new BullMqQueue({ connection: url, name, prefix, logger: silentLogger }),
  });

  describe('crash recovery', () => {
    let child: ChildProcess | undefined;
    const queues: BullMqQueue<object>[] = [];

    afterEach(async () => {
      child?.kill('SIGKILL');
      child = undefined;
      await Promise.all(queues.splice(0).map((q) => q.close()));
    });

    it('runs again, on another worker, a job whose worker process was SIGKILLed mid-job', async () => {
      const name = `q-${randomUUID()}`;
      type Jobs = { submit: { orderId: string } };
      const producer = new BullMqQueue<Jobs>({ connection: url, name, prefix, logger: silentLogger });
      queues.push(producer);
      const orderId = randomUUID();

      // The doomed worker: a separate process, killed without any chance to clean up.
      const fixture = fileURLToPath(new URL('./stalling-worker.fixture.ts', import.meta.url));
      const proc = spawn(process.execPath, ['--import', 'tsx', fixture, url, prefix, name], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child = proc;
      let out = '';
      proc.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor('the worker process to be ready', () => out.includes('ready'), 20_000);
      await producer.add('submit', { orderId }, { jobId: orderId, attempts: 1 });
      await waitFor('the worker process to take the job', () => out.includes(`started ${orderId}`), 10_000);
      expect(await producer.counts()).toMatchObject({ active: 1 });

      proc.kill('SIGKILL');
      await new Promise((resolve) => proc.once('exit', resolve));
      const killedAt = Date.now();

      // A healthy worker takes over; it must get the very job back, and not fail it.
      const survivor = new BullMqQueue<Jobs>({ connection: url, name, prefix, logger: silentLogger });
      queues.push(survivor);
      const recovered: Job<Jobs['submit']>[] = [];
      await survivor.work({ submit: async (job) => void recovered.push(job) });
      await waitFor('the job to come back', () => recovered.length === 1, 20_000);
      const recoveredAfterMs = Date.now() - killedAt;

      expect(recovered[0]).toMatchObject({ id: orderId, data: { orderId } });
      // lockDuration 5 s + stalledInterval 3 s, plus slack: "within a few seconds", not BullMQ's default minute.
      expect(recoveredAfterMs).toBeLessThan(12_000);
      await waitFor('the job to complete', async () => (await producer.counts()).completed === 1);
      expect(await producer.counts()).toMatchObject({ failed: 0, active: 0 });
    }, 60_000);
  });
});
