/**
 * A worker process that takes one job and hangs in it, for the crash-recovery test: the test SIGKILLs
 * this process mid-job, as a crashed or OOM-killed worker would die, and checks the job comes back.
 * argv: redisUrl prefix queueName. Prints `started <jobId>` when the job has begun.
 */
import { BullMqQueue } from '../../src/jobs/bullmq.queue.js';
import { silentLogger } from '../../src/lib/logger.js';

const [redisUrl, prefix, name] = process.argv.slice(2);
if (!redisUrl || !prefix || !name) throw new Error('usage: stalling-worker.fixture.ts redisUrl prefix queueName');

const queue = new BullMqQueue<{ submit: { orderId: string } }>({ connection: redisUrl, prefix, name, logger: silentLogger });
await queue.work({
  submit: (job) => {
    process.stdout.write(`started ${job.id}\n`);
    return new Promise<void>(() => undefined); // never finishes: the process is killed first
  },
});
process.stdout.write('ready\n');
