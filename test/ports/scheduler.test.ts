/** The schedule port's contract: in process always, BullMQ job schedulers when REDIS_URL is set. */
import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';
import { BullMqScheduler } from '../../src/strategies/scheduler/bullmq.scheduler.js';
import { MemoryScheduler } from '../../src/strategies/scheduler/memory.scheduler.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { REDIS_URL, requireRedisWhenServicesRequired } from './helpers.js';
import { schedulerContract } from './scheduler.contract.js';

requireRedisWhenServicesRequired();

schedulerContract('in process', { distributed: false, create: () => new MemoryScheduler({ clock: systemClock, logger: silentLogger }) });

describe.runIf(Boolean(REDIS_URL))('BullMQ', () => {
  const prefix = `tgsched-${randomUUID().slice(0, 8)}`;
  schedulerContract('BullMQ job schedulers', {
    distributed: true,
    create: (ns) => new BullMqScheduler({ url: REDIS_URL!, prefix, name: `schedules-${ns}`, logger: silentLogger }),
  });
});
