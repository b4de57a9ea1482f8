import type { JobHandler } from '../../jobs/queue.js';
import type { BacktestService } from './backtest.service.js';

/** The strategies capability's own job queue ('strategies'): typed payloads, one handler each. */
export interface StrategyJobMap {
  /** Replay one queued backtest. Job id = backtest id. */
  'run-backtest': { backtestId: string };
}

/** The run-backtest job: delegates to the service (which records a failure itself). */
export const runBacktestJob =
  (backtests: BacktestService): JobHandler<StrategyJobMap['run-backtest']> =>
  (job) =>
    backtests.execute(job.data.backtestId);
