import type { JobHandler } from './queue.js';
import type { JobMap } from './jobs.js';
import type { RunSubmitter } from '../services/baskets/run-submit.js';

/** basket-phase: submit every order of a basket run's phase together, then move the run on. */
export const basketPhaseJob =
  (runs: RunSubmitter): JobHandler<JobMap['basket-phase']> =>
  (job) =>
    runs.submitPhase(job.data.runId, job.data.phase, { attemptsMade: job.attemptsMade, attempts: job.attempts });
